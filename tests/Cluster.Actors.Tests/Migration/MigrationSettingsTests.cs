using Akka.Configuration;
using Cluster.Actors.Hosting;
using Cluster.Actors.Migration;
using Cluster.Actors.Tests.TestUtils;

namespace Cluster.Actors.Tests.Migration;

/// <summary>Where an incoming migration's page stream listens: the node's own address unless bind-host says otherwise.</summary>
public sealed class MigrationSettingsTests
{
    /// <summary>The shipped cluster configuration with the node's Akka.Remote host set as <c>cluster-node run --host</c> sets it.</summary>
    private static Config Shipped(string remotingHost, string extra = "") =>
        HypervisorConfig.Load(HypervisorConfig.DefaultHoconDirectory, TestConfig.NewDataDirectory(), ConfigurationFactory.ParseString(
            $"""
            akka.remote.dot-netty.tcp.hostname = "{remotingHost}"
            {extra}
            """), cluster: true);

    [Fact]
    public void Binds_the_nodes_own_remoting_address_by_default()
    {
        Assert.Equal("10.1.2.3", MigrationSettings.From(Shipped("10.1.2.3")).BindHost);
    }

    [Fact]
    public void Keeps_a_loopback_cluster_on_loopback()
    {
        Assert.Equal("127.0.0.1", MigrationSettings.From(Shipped("127.0.0.1")).BindHost);
    }

    [Fact]
    public void An_explicit_bind_host_wins_over_the_nodes_address()
    {
        Assert.Equal("0.0.0.0", MigrationSettings.From(Shipped("10.1.2.3", "cluster-hypervisor.migration.bind-host = \"0.0.0.0\"")).BindHost);
    }

    [Fact]
    public void Resolves_a_host_name_to_an_address_the_source_can_dial()
    {
        Assert.Equal("127.0.0.1", MigrationSettings.From(Shipped("localhost")).BindHost);
    }

    [Fact]
    public void Refuses_a_host_name_that_does_not_resolve_naming_it()
    {
        var e = Assert.Throws<ConfigurationException>(() => MigrationSettings.From(Shipped("no-such-host.invalid")));
        Assert.Contains("no-such-host.invalid", e.Message, StringComparison.Ordinal);
    }
}
