using Cluster.Actors.Hosting;
using Cluster.Actors.Persistence;
using Cluster.Actors.Tests.TestUtils;

namespace Cluster.Actors.Tests.Persistence;

/// <summary>
/// The journal's and the snapshot store's circuit breakers, as a node loads them (SQLite alone, and PostgreSQL in a cluster):
/// after a database outage a trial call goes through within seconds. With Akka's defaults (30 s and 60 s; every VM actor's
/// recovery reads the snapshot store first) VMs stayed down for up to a minute after a 20 s PostgreSQL outage had ended.
/// </summary>
public sealed class JournalBreakerTests
{
    public static TheoryData<bool> Layouts() => [false, true];

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Both_breakers_try_again_within_two_seconds(bool cluster)
    {
        var config = HypervisorConfig.Load(HypervisorConfig.DefaultHoconDirectory, TestConfig.NewDataDirectory(), cluster: cluster,
            journal: cluster ? new PostgresDatabase("Host=/tmp;Database=none") : null);
        foreach (var plugin in new[] { "akka.persistence.journal.sql", "akka.persistence.snapshot-store.sql" })
        {
            Assert.Equal(plugin, config.GetString(plugin[..plugin.LastIndexOf('.')] + ".plugin"));
            Assert.True(config.GetTimeSpan(plugin + ".circuit-breaker.reset-timeout") <= TimeSpan.FromSeconds(2), plugin);
            Assert.True(config.GetInt(plugin + ".circuit-breaker.max-failures") >= 5, plugin);
        }
    }
}
