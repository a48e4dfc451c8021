using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Clustering;
using Cluster.Actors.Placement;
using Cluster.Actors.Rebalancing;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;

namespace Cluster.Actors.Tests.Rebalancing;

/// <summary>The rebalancer as a singleton in a one-node cluster, with the node's HostDirectory on the topics.</summary>
public class RebalancerCompositionTests : TestKit
{
    private static Config ClusterConfig() => ConfigurationFactory.ParseString(
        """
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
        akka.cluster.roles = [host]
        akka.cluster.run-coordinated-shutdown-when-down = off
        akka.coordinated-shutdown.phases { cluster-exiting.timeout = 1s, cluster-leave.timeout = 1s, cluster-sharding-shutdown-region.timeout = 1s }
        cluster-hypervisor.rebalancer { interval = 200ms, hold = 0s, mode = off }
        """).WithFallback(TestConfig.For(TestConfig.NewDataDirectory()));

    public RebalancerCompositionTests()
        : base(ClusterConfig())
    {
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
        AwaitCondition(() => cluster.SelfMember.Status == Akka.Cluster.MemberStatus.Up, TimeSpan.FromSeconds(10));
        Sys.ActorOf(HostDirectory.Props(), HostDirectory.Name);
    }

    private static HostStatus Status(string host, params PlacedVm[] vms) =>
        new(host, 4, 4UL << 30, new Dictionary<string, string>(), "test", [], vms, vms.Length, vms.Sum(v => v.CpuLoad), 0, DateTime.UtcNow);

    [Fact]
    public async Task The_singleton_drains_through_the_region_and_every_board_learns_the_unschedulable_hosts()
    {
        var board = PlacementBoard.Get(Sys);
        board.Report(Status("h1", new PlacedVm("a", 1, 64 << 20, null, 0.5)));
        board.Report(Status("h2"));
        var region = CreateTestProbe();
        var rebalancer = RebalancerComposition.Start(Sys, Sys.Settings.Config, region);

        var started = await rebalancer.Ask<DrainStarted>(new DrainHost("h1"), TimeSpan.FromSeconds(15));
        Assert.Equal(["a"], started.Vms);
        var move = await region.ExpectMsgAsync<MigrateVm>(TimeSpan.FromSeconds(5));
        Assert.Equal(("a", "h2", MigrationTrigger.Drain), (move.VmId, move.TargetHost, move.Cause.Trigger));
        await AwaitAssertAsync(() => Assert.Equal(["h1"], board.Unschedulable), TimeSpan.FromSeconds(5));
        Assert.Equal("h1", (await rebalancer.Ask<HostUndrained>(new UndrainHost("h1"), TimeSpan.FromSeconds(5))).Host);
        await AwaitAssertAsync(() => Assert.Empty(board.Unschedulable), TimeSpan.FromSeconds(5));
    }
}
