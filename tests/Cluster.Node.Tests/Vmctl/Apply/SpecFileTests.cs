using Cluster.Contracts.Networks;
using Cluster.Contracts.Vms;
using Cluster.Vmctl.Cli.Apply;
using Cluster.Vmctl.Output;

namespace Cluster.Node.Tests.Vmctl.Apply;

public class SpecFileTests
{
    private static readonly VmSpec Full = new("web-1", "web one", 2, 96UL << 20, new LinuxImage("/srv/bzImage", "/srv/initrd", "console=ttyS0 quiet"),
        ["a", "true", "1"], new Dictionary<string, string> { ["zone"] = "a", ["require.ssd"] = "yes" }, "web", new RestartPolicy(RestartMode.OnFailure, 4), 7)
    {
        Disks = [new DiskSpec("/srv/web.qcow2", DiskImageFormat.Qcow2, Cache: DiskCache.None, Serial: "S1"), new DiskSpec("/srv/b.img", ReadOnly: true)],
        Nics = [new NicSpec("lan", "52:54:00:00:00:01", "10.0.0.5")],
    };

    [Theory]
    [InlineData(OutputFormat.Yaml)]
    [InlineData(OutputFormat.Json)]
    public void Reads_back_the_spec_that_get_prints(OutputFormat format)
    {
        var text = new StringWriter();
        new Printer(text, format).WriteData(SpecFile.ToDocument(Full));
        var read = SpecFile.Read(text.ToString(), out var error);
        Assert.Null(error);
        Assert.True(VmSpecComparison.Same(read!, Full), text.ToString());
        Assert.True(VmSpecComparison.Same(Full, read!));
    }

    [Fact]
    public void Fills_what_a_short_file_leaves_out_as_create_does()
    {
        var spec = SpecFile.Read("id: a\nimage: {builtin: counter}\nmemory: 1GiB\n", out _)!;
        Assert.Equal(("a", 1, 1UL << 30, RestartMode.Never), (spec.Name, spec.Vcpus, spec.MemoryBytes, spec.Restart.Mode));
        Assert.Equal(new BuiltInImage("counter"), spec.Image);
        Assert.Equal(64UL << 20, SpecFile.Read("""{"id":"b","image":{"builtin":"hello"}}""", out _)!.MemoryBytes);
    }

    [Theory]
    [InlineData("id: a\nimage: {builtin: counter}\ncolour: red\n", "unknown field 'colour'")]
    [InlineData("id: a\nimage: {builtin: counter}\nmemory: 1.5G\n", "'memory' is '1.5G': a whole number only")]
    [InlineData("image: {builtin: counter}\n", "'id' is required")]
    [InlineData("id: a\n", "'image' is required")]
    [InlineData("id: a\nimage: {builtin: counter, elf: /x}\n", "exactly one of builtin, elf or kernel")]
    [InlineData("id: a\nimage: {builtin: counter}\nrestart: {mode: sometimes}\n", "'restart.mode' is 'sometimes'")]
    [InlineData("id: a\nimage: {builtin: counter}\ndisks: ['path=/x,bus=ide']\n", "'disks':")]
    [InlineData("id: a\nimage: {builtin: counter}\nvcpus: two\n", "'vcpus' must be a whole number")]
    [InlineData("id: [a\n", "not YAML or JSON")]
    [InlineData("- a\n- b\n", "one VM")]
    public void Refuses_a_bad_file_naming_the_field(string text, string message)
    {
        Assert.Null(SpecFile.Read(text, out var error));
        Assert.Contains(message, error);
    }
}
