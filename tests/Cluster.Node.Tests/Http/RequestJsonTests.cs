using System.Text.Json;
using Cluster.Node.Http;
using Cluster.Node.Http.Requests;

namespace Cluster.Node.Tests.Http;

/// <summary>
/// The typed request bodies (<see cref="ApiJsonContext"/>) and <see cref="RequestJson"/>'s messages: the serializer refuses,
/// the message names the field by its JSON path and says what it must be.
/// </summary>
public sealed class RequestJsonTests
{
    private static string? Error(string json)
    {
        Assert.Null(RequestJson.Read(JsonDocument.Parse(json).RootElement, ApiJsonContext.Default.VmSpecRequest, out var error));
        return error;
    }

    [Theory]
    [InlineData("""{"id":"a"}""", "'image' is required")]
    [InlineData("""{"id":"a","image":"x","disks":[{"path":"/a"},{"format":"raw"}]}""", "'disks[1].path' is required")]
    [InlineData("""{"id":"a","image":"x","nics":[{"mac":"52:54:00:00:00:01"}]}""", "'nics[0].network' is required")]
    [InlineData("""{"ID":"a","image":"x"}""", "unknown field 'ID' (known: id, name, vcpus, memory, image, args, labels,")]
    [InlineData("""{"id":"a","image":"x","vcpus":"2"}""", "'vcpus' must be an integer")]
    [InlineData("""{"id":"a","image":"x","vcpus":1.5}""", "'vcpus' must be an integer")]
    [InlineData("""{"id":"a","image":"x","start":"yes"}""", "'start' must be true or false")]
    [InlineData("""{"id":null,"image":"x"}""", "'id' must be a string")]
    [InlineData("""{"id":"a","image":"x","labels":{"zone":1}}""", "'labels.zone' must be a string")]
    [InlineData("""{"id":"a","image":"x","labels":["zone"]}""", "'labels' must be a JSON object")]
    [InlineData("""{"id":"a","image":"x","args":[1]}""", "'args[0]' must be a string")]
    [InlineData("""{"id":"a","image":"x","disks":[{"path":"/a","readonly":"no"}]}""", "'disks[0].readonly' must be true or false")]
    [InlineData("""{"id":"a","image":"x","memory":-1}""", "'memory' must be bytes: a number or a size like \"64M\"")]
    [InlineData("""{"id":"a","image":"x","memory":true}""", "'memory' must be bytes")]
    [InlineData("""null""", "the body must be a JSON object")]
    [InlineData("\"spec\"", "the body must be a JSON object")]
    public void Names_the_field_and_what_it_must_be(string json, string message) => Assert.StartsWith(message, Error(json));

    [Fact]
    public void Reads_sizes_as_numbers_or_size_text_in_one_converter()
    {
        var request = RequestJson.Read(JsonDocument.Parse("""{"to":"h:1","bandwidth":"2M"}""").RootElement, ApiJsonContext.Default.MigrateRequest, out _);
        Assert.Equal(2UL << 20, request!.Bandwidth!.Value.Bytes);
        var spec = SpecJson.Parse(JsonDocument.Parse("""{"id":"a","image":"x","memory":65536}""").RootElement, out _, out var error);
        Assert.Null(error);
        Assert.Equal(65536UL, spec!.MemoryBytes);
    }

    [Fact]
    public void Refuses_unknown_fields_in_every_body()
    {
        static string? Unknown<T>(System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info, string json) where T : class
        {
            Assert.Null(RequestJson.Read(JsonDocument.Parse(json).RootElement, info, out var error));
            return error;
        }

        Assert.StartsWith("unknown field 'x'", Unknown(ApiJsonContext.Default.MigrateRequest, """{"to":"h:1","x":1}"""));
        Assert.StartsWith("unknown field 'x'", Unknown(ApiJsonContext.Default.RebalanceModeRequest, """{"mode":"off","x":1}"""));
        Assert.StartsWith("unknown field 'x'", Unknown(ApiJsonContext.Default.TokenRequest, """{"role":"admin","x":1}"""));
        Assert.StartsWith("unknown field 'x'", Unknown(ApiJsonContext.Default.NetworkRequest, """{"name":"n","x":1}"""));
    }
}
