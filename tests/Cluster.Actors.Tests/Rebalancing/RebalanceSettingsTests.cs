using Akka.Configuration;
using Cluster.Actors.Rebalancing;
using Cluster.Contracts.Rebalancing;

namespace Cluster.Actors.Tests.Rebalancing;

public class RebalanceSettingsTests
{
    private static Config Shipped() =>
        ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", "rebalancer.conf")));

    [Fact]
    public void The_shipped_hocon_holds_the_documented_defaults() =>
        Assert.Equal(RebalanceSettings.Default, RebalanceSettings.From(Shipped()));

    [Fact]
    public void Reads_overrides_and_refuses_an_unknown_mode()
    {
        var settings = RebalanceSettings.From(ConfigurationFactory.ParseString(
            "cluster-hypervisor.rebalancer { mode = recommend, max-moves = 5, hold = 1s }").WithFallback(Shipped()));
        Assert.Equal((RebalanceMode.Recommend, 5, TimeSpan.FromSeconds(1)), (settings.Mode, settings.MaxMoves, settings.Hold));
        Assert.Throws<ConfigurationException>(() => RebalanceSettings.From(ConfigurationFactory.ParseString("cluster-hypervisor.rebalancer.mode = sometimes")));
    }
}
