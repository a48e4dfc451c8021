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
}
