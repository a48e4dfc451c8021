using Cluster.Contracts.Validation;
using Cluster.Contracts.Vms;
using Cluster.Vmctl.Cli;

namespace Cluster.Node.Tests.Vmctl;

public class SpecOptionsTests
{
    private static VmSpec? Parse(out string? error, params string[] args) =>
        SpecOptions.Parse("vm-1", CommandLine.Parse(["create", "vm-1", .. args], out _)!, out error);

    [Fact]
    public void Builds_a_spec_from_flags()
    {
        var spec = Parse(out var error, "--image", "counter", "--memory", "16M", "--vcpus", "2", "--arg", "5", "--arg", "x",
            "--label", "zone=a", "--anti-affinity", "web", "--restart", "on-failure", "--max-restarts", "4", "--name", "my vm");
        Assert.Null(error);
        Assert.Equal(new BuiltInImage("counter"), spec!.Image);
        Assert.Equal(16UL << 20, spec.MemoryBytes);
        Assert.Equal(2, spec.Vcpus);
        Assert.Equal(["5", "x"], spec.Args);
        Assert.Equal("a", spec.Labels["zone"]);
        Assert.Equal("web", spec.AntiAffinityGroup);
        Assert.Equal(new RestartPolicy(RestartMode.OnFailure, 4), spec.Restart);
        Assert.Equal("my vm", spec.Name);
    }

    [Fact]
    public void Makes_an_elf_path_absolute()
    {
        var spec = Parse(out _, "--elf", "guest.elf");
        Assert.Equal(Path.GetFullPath("guest.elf"), Assert.IsType<ElfImage>(spec!.Image).Path);
    }

    [Theory]
    [InlineData("--memory", "lots")]
    [InlineData("--vcpus", "-1")]
    [InlineData("--restart", "sometimes")]
    [InlineData("--label", "novalue")]
    public void Rejects_a_bad_option_value_naming_the_option(string option, string value)
    {
        Assert.Null(Parse(out var error, "--image", "hello", option, value));
        Assert.Contains(option, error);
    }

    [Fact]
    public void Requires_exactly_one_image_kind()
    {
        Assert.Null(Parse(out var none));
        Assert.NotNull(none);
        Assert.Null(Parse(out var two, "--image", "hello", "--elf", "/x"));
        Assert.NotNull(two);
    }

    [Theory]
    [InlineData("4096", 4096UL)]
    [InlineData("4K", 4096UL)]
    [InlineData("2m", 2UL << 20)]
    [InlineData("1G", 1UL << 30)]
    public void Parses_sizes_with_binary_suffixes(string text, ulong expected)
    {
        Assert.True(SizeText.TryParse(text, out var bytes));
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Reads_repeated_disks_in_order()
    {
        var spec = Parse(out var error, "--image", "counter", "--disk", "path=/srv/a.qcow2,format=qcow2,cache=none", "--disk", "/srv/b.img,readonly,serial=B1");
        Assert.Null(error);
        Assert.Equal([new DiskSpec("/srv/a.qcow2", DiskImageFormat.Qcow2, Cache: DiskCache.None), new DiskSpec("/srv/b.img", ReadOnly: true, Serial: "B1")],
            spec!.Disks);
    }

    [Fact]
    public void Refuses_a_disk_with_an_unknown_key_naming_the_option_and_the_key()
    {
        Assert.Null(Parse(out var error, "--image", "counter", "--disk", "path=/srv/a.img,bus=ide"));
        Assert.Contains("--disk", error);
        Assert.Contains("'bus'", error);
    }

    [Fact]
    public void Gives_a_spec_without_disks_no_disks() => Assert.Empty(Parse(out _, "--image", "counter")!.Disks);
}
