using System.Text.Json;
using Cluster.Contracts.Networks;
using Cluster.Node.Http;

namespace Cluster.Node.Tests.Http;

public sealed class NetworkJsonTests
{
    private static CreateNetwork? Parse(string json, out string? error) => NetworkJson.ParseCreate(JsonDocument.Parse(json).RootElement, out error);

    [Fact]
    public void Reads_a_network_and_nics_in_a_vm_spec()
    {
        Assert.Equal(new CreateNetwork(new NetworkSpec("lan", NetworkMode.Nat, "10.88.0.0/24")),
            Parse("""{"name":"lan","mode":"nat","subnet":"10.88.0.0/24"}""", out var error));
        Assert.Null(error);
        Assert.Equal(new CreateNetwork(new NetworkSpec("phys", NetworkMode.Bridge, null, "br0", 9000)),
            Parse("""{"name":"phys","mode":"bridge","bridge":"br0","mtu":9000}""", out _));
        var spec = SpecJson.Parse(JsonDocument.Parse("""{"id":"a","image":"hello","nics":[{"network":"lan"},{"network":"dmz","mac":"52:54:00:00:00:01"}]}""")
            .RootElement, out _, out error);
        Assert.Null(error);
        Assert.Equal([new NicSpec("lan"), new NicSpec("dmz", "52:54:00:00:00:01")], spec!.Nics);
        Assert.Null(SpecJson.Parse(JsonDocument.Parse("""{"id":"a","image":"hello","nics":[{"network":"lan","ip":"10.0.0.9"}]}""").RootElement,
            out _, out error));
        Assert.Contains("unknown field 'nics[0].ip'", error);
    }

    [Theory]
    [InlineData("""{"name":"lan","mode":"routed"}""", "'mode' must be nat, bridge or overlay")]
    [InlineData("""{"mode":"nat"}""", "'name' is required")]
    [InlineData("""{"name":"lan","mode":"nat","vni":5}""", "unknown field 'vni'")]
    [InlineData("""{"name":"lan","mode":"nat","mtu":"big"}""", "'mtu' must be an integer")]
    [InlineData("""{"name":7,"mode":"nat"}""", "'name' must be a string")]
    [InlineData("""[1]""", "a JSON object")]
    public void Refuses_what_is_not_a_network_naming_the_field(string json, string message)
    {
        Assert.Null(Parse(json, out var error));
        Assert.Contains(message, error);
    }
}
