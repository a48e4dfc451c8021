using Cluster.Contracts.Tests.TestUtils;
using Cluster.Contracts.Validation;
using Cluster.Contracts.Vms;

namespace Cluster.Contracts.Tests.Validation;

public class VmSpecValidatorTests
{
    private readonly VmSpecValidator _validator = new(Specs.Limits);

    [Fact]
    public void Accepts_a_valid_built_in_spec() => Assert.Null(_validator.Validate(Specs.Hello()));

    [Theory]
    [InlineData("")]
    [InlineData("Upper")]
    [InlineData("-leading-dash")]
    [InlineData("has space")]
    [InlineData("semi;colon")]
    [InlineData("a/b")]
    public void Rejects_ids_with_invalid_characters_naming_the_id_field(string id) =>
        Assert.Equal("id", _validator.Validate(Specs.Hello(id))?.Field);

    [Fact]
    public void Rejects_an_id_longer_than_63_characters() =>
        Assert.Equal("id", _validator.Validate(Specs.Hello(new string('a', 64)))?.Field);

    [Fact]
    public void Rejects_an_empty_or_control_character_name() =>
        Assert.Equal("name", _validator.Validate(Specs.Hello() with { Name = "bad\nname" })?.Field);

    [Theory]
    [InlineData(0UL)]
    [InlineData(4096UL)]
    [InlineData(1UL << 40)]
    [InlineData((16UL << 20) + 1)]
    public void Rejects_zero_tiny_absurd_or_unaligned_memory(ulong bytes) =>
        Assert.Equal("memory", _validator.Validate(Specs.Hello() with { MemoryBytes = bytes })?.Field);

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(9)]
    public void Rejects_vcpu_counts_outside_the_node_limit(int vcpus) =>
        Assert.Equal("vcpus", _validator.Validate(Specs.Hello() with { Vcpus = vcpus })?.Field);

    [Fact]
    public void Rejects_an_unknown_built_in_image_and_lists_the_known_ones()
    {
        var failure = _validator.Validate(Specs.Hello() with { Image = new BuiltInImage("doom") });
        Assert.Equal("image", failure?.Field);
        Assert.Contains("counter", failure!.Message);
    }

    [Fact]
    public void Rejects_a_missing_elf_file() =>
        Assert.Equal("image", _validator.Validate(Specs.Hello() with { Image = new ElfImage("/nonexistent/guest.elf") })?.Field);

    [Fact]
    public void Rejects_a_relative_elf_path_even_when_the_file_exists()
    {
        var relative = Path.GetFileName(typeof(VmSpecValidatorTests).Assembly.Location);
        Assert.Equal("image", _validator.Validate(Specs.Hello() with { Image = new ElfImage(relative) })?.Field);
    }

    [Fact]
    public void Accepts_an_existing_elf_file()
    {
        var path = typeof(VmSpecValidatorTests).Assembly.Location;
        Assert.Null(_validator.Validate(Specs.Hello() with { Image = new ElfImage(path) }));
    }

    [Fact]
    public void Rejects_a_linux_image_whose_initrd_is_missing()
    {
        var kernel = typeof(VmSpecValidatorTests).Assembly.Location;
        var image = new LinuxImage(kernel, "/nonexistent/initrd.img", "console=ttyS0");
        Assert.Equal("initrd", _validator.Validate(Specs.Hello() with { Image = image })?.Field);
    }

    [Fact]
    public void Rejects_a_restart_policy_with_negative_restarts() =>
        Assert.Equal("restart", _validator.Validate(Specs.Hello() with { Restart = new RestartPolicy(RestartMode.Always, -1) })?.Field);

    [Fact]
    public void Rejects_label_keys_with_invalid_characters() =>
        Assert.Equal("labels", _validator.Validate(Specs.Hello() with { Labels = new Dictionary<string, string> { ["Bad Key"] = "x" } })?.Field);

    [Fact]
    public void Rejects_a_null_spec() => Assert.Equal("spec", _validator.Validate(null)?.Field);

    [Fact]
    public void Accepts_disks_on_absolute_paths_that_do_not_exist_on_this_node() =>
        Assert.Null(_validator.Validate(WithDisks(new DiskSpec("/nowhere/a.qcow2", DiskImageFormat.Qcow2, true, DiskCache.None, "serial-1"))));

    [Fact]
    public void Rejects_a_relative_disk_path_naming_it()
    {
        var failure = _validator.Validate(WithDisks(new DiskSpec("images/a.img")));
        Assert.Equal("disks", failure?.Field);
        Assert.Contains("'images/a.img'", failure?.Message);
    }

    [Fact]
    public void Rejects_the_same_disk_path_twice() =>
        Assert.Contains("twice", _validator.Validate(WithDisks(new DiskSpec("/srv/a.img"), new DiskSpec("/srv/./a.img")))?.Message);

    [Fact]
    public void Rejects_more_than_16_disks() =>
        Assert.Equal("disks", _validator.Validate(WithDisks([.. Enumerable.Range(0, 17).Select(i => new DiskSpec($"/srv/{i}.img"))]))?.Field);

    [Fact]
    public void Accepts_16_disks() =>
        Assert.Null(_validator.Validate(WithDisks([.. Enumerable.Range(0, 16).Select(i => new DiskSpec($"/srv/{i}.img"))])));

    [Theory]
    [InlineData("123456789012345678901")]
    [InlineData("caf\u00e9")]
    [InlineData("tab\there")]
    public void Rejects_a_serial_over_20_bytes_or_not_printable_ascii(string serial) =>
        Assert.Contains("serial", _validator.Validate(WithDisks(new DiskSpec("/srv/a.img", Serial: System.Text.RegularExpressions.Regex.Unescape(serial))))?.Message);

    [Fact]
    public void Accepts_a_serial_of_exactly_20_bytes() =>
        Assert.Null(_validator.Validate(WithDisks(new DiskSpec("/srv/a.img", Serial: "12345678901234567890"))));

    [Fact]
    public void Rejects_an_undefined_cache_mode_or_format() =>
        Assert.All([new DiskSpec("/srv/a.img", Cache: (DiskCache)7), new DiskSpec("/srv/a.img", (DiskImageFormat)9)],
            d => Assert.Equal("disks", _validator.Validate(WithDisks(d))?.Field));

    [Fact]
    public void Rejects_a_disk_identity_that_is_not_a_uuid() =>
        Assert.Equal("disks", _validator.Validate(WithDisks(new DiskSpec("/srv/a.img", Identity: "not-a-uuid")))?.Field);

    private static VmSpec WithDisks(params DiskSpec[] disks) => Specs.Hello() with { Disks = disks };
}
