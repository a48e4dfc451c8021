using System.Text.Json;
using Cluster.Contracts.Vms;
using Cluster.Node.Http;

namespace Cluster.Node.Tests.Http;

public class SpecJsonTests
{
    private static VmSpec? Parse(string json, out bool start, out string? error) =>
        SpecJson.Parse(JsonDocument.Parse(json).RootElement, out start, out error);

    [Fact]
    public void Reads_a_full_spec()
    {
        var spec = Parse("""
            {"id":"a","name":"A","vcpus":2,"memory":"8M","image":"counter","args":["x"],"labels":{"require.zone":"z1"},
             "antiAffinity":"g","priority":5,"restart":"on-failure","maxRestarts":2,"start":true}
            """, out var start, out var error);
        Assert.Null(error);
        Assert.True(start);
        Assert.Equal((2, 8UL << 20, "counter", "g", 5), (spec!.Vcpus, spec.MemoryBytes, ((BuiltInImage)spec.Image).Name, spec.AntiAffinityGroup, spec.Priority));
        Assert.Equal(new RestartPolicy(RestartMode.OnFailure, 2), spec.Restart);
        Assert.Equal("z1", spec.Labels["require.zone"]);
    }

    [Theory]
    [InlineData("""{"id":"a","image":"counter","colour":"red"}""", "unknown field 'colour'")]
    [InlineData("""{"image":"counter"}""", "'id' is required")]
    [InlineData("""{"id":"a","image":"counter","vcpus":"two"}""", "'vcpus' must be an integer")]
    [InlineData("""{"id":"a","image":"counter","memory":"lots"}""", "'memory' must be bytes")]
    [InlineData("""{"id":"a","image":"counter","restart":"sometimes"}""", "'restart' must be never")]
    [InlineData("""[1,2]""", "must be a JSON object")]
    public void Refuses_bad_input_naming_the_field(string json, string message)
    {
        Assert.Null(Parse(json, out _, out var error));
        Assert.Contains(message, error);
    }

    [Fact]
    public void Reads_disks()
    {
        var spec = Parse("""
            {"id":"a","image":"counter","disks":[{"path":"/srv/a.qcow2","format":"qcow2","readonly":true,"cache":"none","serial":"S1"},
             {"path":"/srv/b.img"}]}
            """, out _, out var error);
        Assert.Null(error);
        Assert.Equal([new DiskSpec("/srv/a.qcow2", DiskImageFormat.Qcow2, true, DiskCache.None, "S1"), new DiskSpec("/srv/b.img")], spec!.Disks);
    }

    [Fact]
    public void Reads_back_a_disk_as_the_api_shows_it()
    {
        var shown = JsonSerializer.Serialize(new DiskSpec("/srv/a.img", DiskImageFormat.Raw, true),
            new JsonSerializerOptions(JsonSerializerDefaults.Web) { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } });
        shown = shown.Replace(",\"identity\":null", "");
        var spec = Parse($$"""{"id":"a","image":"counter","disks":[{{shown}}]}""", out _, out var error);
        Assert.Null(error);
        Assert.Equal(new DiskSpec("/srv/a.img", DiskImageFormat.Raw, true), Assert.Single(spec!.Disks));
    }

    [Theory]
    [InlineData("""{"id":"a","image":"counter","disks":[{"path":"/a","bus":"ide"}]}""", "unknown field 'disks[0].bus' (known: path, format, readonly, readOnly, cache, serial)")]
    [InlineData("""{"id":"a","image":"counter","disks":[{"path":"/a","format":"vmdk"}]}""", "'vmdk'")]
    [InlineData("""{"id":"a","image":"counter","disks":[{"path":"/a","cache":"unsafe"}]}""", "'unsafe'")]
    [InlineData("""{"id":"a","image":"counter","disks":[{"format":"raw"}]}""", "'disks[0].path' is required")]
    [InlineData("""{"id":"a","image":"counter","disks":{"path":"/a"}}""", "'disks' must be an array")]
    public void Refuses_bad_disks_naming_the_field_or_value(string json, string message)
    {
        Assert.Null(Parse(json, out _, out var error));
        Assert.Contains(message, error);
    }
}
