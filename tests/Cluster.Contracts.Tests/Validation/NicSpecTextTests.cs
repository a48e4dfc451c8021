using Cluster.Contracts.Networks;
using Cluster.Contracts.Validation;

namespace Cluster.Contracts.Tests.Validation;

public sealed class NicSpecTextTests
{
    [Theory]
    [InlineData("network=lan", "lan", null)]
    [InlineData("lan", "lan", null)]
    [InlineData("network=lan,mac=52:54:00:00:00:01", "lan", "52:54:00:00:00:01")]
    [InlineData("lan,mac=52:54:00:00:00:01", "lan", "52:54:00:00:00:01")]
    public void Parses_the_network_and_an_optional_mac(string text, string network, string? mac) =>
        Assert.Equal(new NicSpec(network, mac), NicSpecText.Parse(text, out _));

    [Theory]
    [InlineData("network=lan,ip=10.0.0.5", "unknown option 'ip'")]
    [InlineData("network=a,network=b", "given twice")]
    [InlineData("mac=52:54:00:00:00:01", "give the network")]
    [InlineData("network=", "give the network")]
    public void Refuses_unknown_repeated_or_missing_keys(string text, string reason)
    {
        Assert.Null(NicSpecText.Parse(text, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}
