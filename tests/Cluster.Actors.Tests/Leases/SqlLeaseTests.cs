using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Akka.Coordination;
using Cluster.Actors.Hosting;
using Cluster.Actors.Leases;
using Cluster.Actors.Tests.TestUtils;

namespace Cluster.Actors.Tests.Leases;

/// <summary>
/// <see cref="SqlLease"/> as Akka.Coordination's lease, loaded by Akka's LeaseProvider from the shipped section
/// (<c>cluster-hypervisor.sql-lease</c> in hocon/cluster.conf), and as the split brain resolver's lease under
/// <c>active-strategy = lease-majority</c>: a two-node cluster forms, one node dies, and the survivor downs it only after
/// acquiring the lease in the journal's database.
/// </summary>
public sealed class SqlLeaseTests : IDisposable
{
    private readonly List<ActorSystem> _systems = [];
    private readonly string _data = TestConfig.NewDataDirectory();

    /// <summary>The shipped cluster.conf (a short lease and quick decisions), lease-majority when asked, on one shared SQLite journal.</summary>
    private Config ClusterConfig(bool leaseMajority) =>
        ConfigurationFactory.ParseString(
            $"""
            akka.remote.dot-netty.tcp.hostname = "127.0.0.1"
            akka.remote.dot-netty.tcp.port = 0
            akka.cluster.split-brain-resolver.stable-after = 1s
            akka.cluster.split-brain-resolver.lease-majority.acquire-lease-delay-for-minority = 500ms
            {(leaseMajority ? "akka.cluster.split-brain-resolver.active-strategy = lease-majority" : "")}
            akka.cluster.failure-detector.acceptable-heartbeat-pause = 1s
            akka.coordinated-shutdown.run-by-actor-system-terminate = off
            cluster-hypervisor.sql-lease.heartbeat-timeout = 3s
            cluster-hypervisor.sql-lease.heartbeat-interval = 1s
            """)
            .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(HypervisorConfig.DefaultHoconDirectory, "cluster.conf"))))
            .WithFallback(TestConfig.For(_data, remote: true));

    private ActorSystem Start(Config config)
    {
        var system = ActorSystem.Create("lease-test", config);
        _systems.Add(system);
        return system;
    }

    [Fact]
    public async Task The_shipped_section_loads_a_lease_that_one_owner_holds_until_it_releases_it()
    {
        var system = Start(ClusterConfig(leaseMajority: false));
        var a = LeaseProvider.Get(system).GetLease("test-lease", "cluster-hypervisor.sql-lease", "owner-a");
        var b = LeaseProvider.Get(system).GetLease("test-lease", "cluster-hypervisor.sql-lease", "owner-b");
        Assert.IsType<SqlLease>(a);
        Exception? lost = null;
        Assert.True(await a.Acquire(e => lost = e));
        Assert.True(a.CheckLease());
        Assert.False(await b.Acquire());
        Assert.False(b.CheckLease());
        // Renewed in the background past its ttl (3 s): b still cannot take it.
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.True(a.CheckLease());
        Assert.False(await b.Acquire());
        Assert.True(await a.Release());
        Assert.False(a.CheckLease());
        Assert.True(await b.Acquire());
        Assert.Null(lost);
        await b.Release();
    }

    [Fact]
    public async Task A_cluster_under_lease_majority_forms_and_downs_a_dead_node_only_holding_the_lease()
    {
        var config = ClusterConfig(leaseMajority: true);
        var first = Start(config);
        var second = Start(config);
        var firstCluster = Akka.Cluster.Cluster.Get(first);
        firstCluster.Join(firstCluster.SelfAddress);
        Akka.Cluster.Cluster.Get(second).Join(firstCluster.SelfAddress);
        await Until(() => firstCluster.State.Members.Count(m => m.Status == MemberStatus.Up) == 2, TimeSpan.FromSeconds(30));

        // The second node dies without leaving: the first sees it unreachable, acquires the lease and downs it.
        var dead = Akka.Cluster.Cluster.Get(second).SelfAddress;
        await second.Terminate();
        await Until(() => firstCluster.State.Members.All(m => m.Address != dead), TimeSpan.FromSeconds(60));

        var store = LeaseStore.FromJournal(first.Settings.Config)!;
        var row = await store.ReadAsync("lease-test-akka-sbr");
        Assert.NotNull(row);
        Assert.Contains(firstCluster.SelfAddress.Port!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), row.Owner);
    }

    private static async Task Until(Func<bool> condition, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(100);
        }
    }

    public void Dispose()
    {
        foreach (var system in _systems)
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
    }
}
