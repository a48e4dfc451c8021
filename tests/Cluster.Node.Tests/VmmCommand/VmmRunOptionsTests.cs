using Cluster.Node.VmmCommand;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Storage;

namespace Cluster.Node.Tests.VmmCommand;

public class VmmRunOptionsTests
{
    [Fact]
    public void Maps_repeated_disks_to_the_machines_disks_in_order()
    {
        var options = VmmRunOptions.Parse(
            ["--disk", "path=/srv/a.qcow2,format=qcow2,readonly,cache=none,serial=S1", "--disk", "/srv/b.img", "builtin:hello"], out var error);
        Assert.Null(error);
        Assert.Equal([new DiskConfig("/srv/a.qcow2", DiskFormat.Qcow2, true, DiskCacheMode.None, "S1"), new DiskConfig("/srv/b.img")],
            options!.Machine.Disks);
    }

    [Fact]
    public void Makes_a_relative_disk_path_absolute() =>
        Assert.Equal(Path.GetFullPath("disk.img"),
            Assert.Single(VmmRunOptions.Parse(["--disk", "disk.img", "builtin:hello"], out _)!.Machine.Disks).Path);

    [Theory]
    [InlineData("path=/a.img,bus=ide", "'bus'")]
    [InlineData("path=/a.img,format=vmdk", "'vmdk'")]
    [InlineData("path=/a.img,cache=unsafe", "'unsafe'")]
    [InlineData("path=/a.img,serial=123456789012345678901", "serial")]
    public void Refuses_a_bad_disk_naming_what_is_wrong(string disk, string named)
    {
        Assert.Null(VmmRunOptions.Parse(["--disk", disk, "builtin:hello"], out var error));
        Assert.Contains(named, error);
    }

    [Fact]
    public void Refuses_the_same_disk_twice()
    {
        Assert.Null(VmmRunOptions.Parse(["--disk", "/a.img", "--disk", "path=/a.img,readonly", "builtin:hello"], out var error));
        Assert.Contains("twice", error);
    }

    [Fact]
    public void Names_the_disk_option_in_the_help()
    {
        var stdout = new StringWriter();
        Assert.Equal(0, Cluster.Node.Cli.NodeCli.Run(["vmm", "run", "--help"], Cluster.Node.Cli.CliIo.Of(stdout, TextWriter.Null)));
        Assert.Contains("--disk <SPEC>", stdout.ToString());
    }
}
