using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Migration;
using Cluster.Actors.Placement;
using Cluster.Actors.Rebalancing;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Tests.Rebalancing;

public class RebalancerTests : TestKit
{
    private const ulong MiB = 1024 * 1024;

    private static readonly RebalanceSettings Fast = RebalanceSettings.Default with
    {
        Interval = TimeSpan.FromMilliseconds(100), Hold = TimeSpan.Zero, Threshold = 0.05, RetryBackoff = TimeSpan.FromMilliseconds(600),
        SnapshotEvery = 2,
    };

    private readonly PlacementBoard _board;
    private readonly TestProbe _region;
    private readonly TestProbe _mediator;

    public RebalancerTests()
        : base(TestConfig.For(TestConfig.NewDataDirectory()))
    {
        _board = PlacementBoard.Get(Sys);
        _region = CreateTestProbe();
        _mediator = CreateTestProbe();
    }

    private IActorRef Start(RebalanceSettings settings) =>
        Sys.ActorOf(Rebalancer.Props(settings, PlacementSettings.Default, _region, _mediator));

    private void Report(string host, string zone = "a", params PlacedVm[] vms) =>
        _board.Report(new HostStatus(host, 4, 4096 * MiB, new Dictionary<string, string> { ["zone"] = zone }, "test", [], vms,
            vms.Length, vms.Sum(v => v.CpuLoad), 0, DateTime.UtcNow));

    private static PlacedVm Vm(string id, double load) => new(id, 1, 64 * MiB, null, load);

    private static T Ask<T>(IActorRef rebalancer, object message) =>
        rebalancer.Ask<T>(message, TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();

    private MigrateVm ExpectMove(TimeSpan? within = null)
    {
        var move = _region.ExpectMsg<MigrateVm>(within ?? TimeSpan.FromSeconds(15));
        _region.Reply(new MigrationAccepted(move.VmId, $"m-{move.VmId}", "?", move.TargetHost));
        return move;
    }

    private static MigrationInfo Ended(MigrateVm move, string source, MigrationState state) => new(move.VmId, $"m-{move.VmId}", source,
        move.TargetHost, state, MigrationStrategy.Auto, 3, 64 * MiB, 0, 1e9, 0, 0, 0, DateTime.UtcNow, DateTime.UtcNow, 5, 500, 1000,
        state == MigrationState.Completed ? null : "link down", move.Cause);

    /// <summary>Waits for a publication of exactly these unschedulable hosts (the rebalancer publishes them at every interval too).</summary>
    private void ExpectUnschedulable(string[] hosts) =>
        _mediator.FishForMessage<Publish>(p => p.Topic == RebalancerTopics.Unschedulable
            && ((UnschedulableHosts)p.Message).Hosts.SequenceEqual(hosts), TimeSpan.FromSeconds(15));

    private void ReportSkewed()
    {
        Report("h1", vms: [Vm("a", 2), Vm("b", 2)]);
        Report("h2");
    }

    [Fact]
    public void Recommend_mode_keeps_the_plan_and_sends_nothing()
    {
        ReportSkewed();
        var rebalancer = Start(Fast with { Mode = RebalanceMode.Recommend });
        AwaitAssert(() => Assert.NotEmpty(Ask<RebalanceStatus>(rebalancer, GetRebalanceStatus.Instance).Plan), TimeSpan.FromSeconds(15));
        var status = Ask<RebalanceStatus>(rebalancer, GetRebalanceStatus.Instance);
        Assert.Equal(RebalanceMode.Recommend, status.Mode);
        Assert.True(status.Imbalance > status.Threshold);
        Assert.NotNull(status.AboveSince);
        _region.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public void Automatic_mode_sends_rebalance_moves_within_the_limits_and_follows_them()
    {
        var hosts = new Dictionary<string, List<PlacedVm>>
        {
            ["h1"] = [Vm("a", 2), Vm("b", 1), Vm("c", 1)], ["h2"] = [Vm("d", 2), Vm("e", 1), Vm("f", 1)], ["h3"] = [], ["h4"] = [], ["h5"] = [],
        };
        foreach (var (host, vms) in hosts)
            Report(host, vms: [.. vms]);
        var rebalancer = Start(Fast);
        var first = ExpectMove();
        var second = ExpectMove();
        _region.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        Assert.All(new[] { first, second }, m => Assert.Equal(MigrationTrigger.Rebalance, m.Cause.Trigger));
        Assert.NotEqual(first.TargetHost, second.TargetHost);
        Assert.Contains("imbalance", first.Cause.Summary);
        Assert.Equal("1.0000", first.Cause.Inputs["load.h1"]);
        Assert.Contains("gain", first.Cause.Inputs.Keys);
        Assert.Equal("Automatic", first.Cause.Inputs["mode"]);
        Assert.Equal(2, Ask<RebalanceStatus>(rebalancer, GetRebalanceStatus.Instance).InFlight.Count);

        var source = hosts.Single(h => h.Value.Any(v => v.VmId == first.VmId)).Key;
        var vm = hosts[source].Single(v => v.VmId == first.VmId);
        hosts[source].Remove(vm);
        hosts[first.TargetHost].Add(vm);
        Report(source, vms: [.. hosts[source]]);
        Report(first.TargetHost, vms: [.. hosts[first.TargetHost]]);
        rebalancer.Tell(Ended(first, source, MigrationState.Completed));
        var third = ExpectMove();
        Assert.DoesNotContain(third.VmId, new[] { first.VmId, second.VmId });
        Assert.NotEqual(source, third.TargetHost);
        AwaitAssert(() => Assert.Equal(1, Ask<RebalanceStatus>(rebalancer, GetRebalanceStatus.Instance).MovesMade));
    }

    [Fact]
    public void A_move_is_planned_from_the_load_and_memory_the_hosts_measured_in_their_workers_cgroups()
    {
        // a: a 1 GiB VM whose worker holds 200 MiB (its cgroup's working set); b: no cgroup, so no memory figure.
        Report("h1", vms: [new PlacedVm("a", 1, 1024 * MiB, null, 2, 200 * MiB), new PlacedVm("b", 1, 1024 * MiB, null, 2)]);
        Report("h2");
        Start(Fast with { MaxMoves = 1 });

        var move = ExpectMove();

        Assert.Equal("a", move.VmId);
        Assert.Equal("2.000", move.Cause.Inputs["vm.cpu-load"]);
        Assert.Equal($"{200 * MiB} (its worker's cgroup)", move.Cause.Inputs["vm.memory-used-bytes"]);
        Assert.Contains("200 MiB to copy", move.Cause.Summary);
        Assert.Equal("1.0000", move.Cause.Inputs["load.h1"]);
    }

    [Fact]
    public void Off_mode_plans_nothing_until_switched_to_automatic()
    {
        ReportSkewed();
        var rebalancer = Start(Fast with { Mode = RebalanceMode.Off });
        _region.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        Assert.Empty(Ask<RebalanceStatus>(rebalancer, GetRebalanceStatus.Instance).Plan);
        Assert.Equal(RebalanceMode.Automatic, Ask<RebalanceStatus>(rebalancer, new SetRebalanceMode(RebalanceMode.Automatic)).Mode);
        Assert.Equal(MigrationTrigger.Rebalance, ExpectMove().Cause.Trigger);
    }

    [Fact]
    public void A_failed_move_is_retried_after_a_back_off()
    {
        Report("h1", vms: [Vm("a", 2), Vm("b", 2)]);
        Report("h2");
        var settings = Fast with { MaxMoves = 1, RetryBackoff = TimeSpan.FromSeconds(2) };
        var rebalancer = Start(settings);
        var first = _region.ExpectMsg<MigrateVm>(TimeSpan.FromSeconds(15));
        Assert.Equal("a", first.VmId);
        var refusedAt = Stopwatch.StartNew();
        _region.Reply(new NotAllowed(first.VmId, "already migrating"));
        var other = ExpectMove();
        Assert.Equal("b", other.VmId);
        var failedAt = Stopwatch.StartNew();
        rebalancer.Tell(Ended(other, "h1", MigrationState.Failed));
        var retried = _region.ExpectMsg<MigrateVm>(TimeSpan.FromSeconds(15));
        var waited = retried.VmId == "a" ? refusedAt.Elapsed : failedAt.Elapsed;
        Assert.True(waited >= settings.RetryBackoff, $"{retried.VmId} was retried after {waited.TotalMilliseconds} ms");
        Assert.Single(Ask<RebalanceStatus>(rebalancer, GetRebalanceStatus.Instance).InFlight);
    }

    [Fact]
    public void Drain_sends_drain_moves_in_every_mode_and_names_the_stuck_vms()
    {
        Report("h1", vms: [Vm("a", 0.5), Vm("zoned", 0.5)]);
        Report("h2");
        var zoned = new VmSpec("zoned", "zoned", 1, 64 * MiB, new BuiltInImage("counter"), [],
            new Dictionary<string, string> { ["require.zone"] = "c" }, null, RestartPolicy.Never);
        _board.Decide(new PlacementDecided(zoned, "h1"));
        var rebalancer = Start(Fast with { Mode = RebalanceMode.Off });

        var started = Ask<DrainStarted>(rebalancer, new DrainHost("h1"));
        Assert.Equal(["a", "zoned"], started.Vms.Order());
        var move = ExpectMove();
        Assert.Equal(("a", "h2", MigrationTrigger.Drain), (move.VmId, move.TargetHost, move.Cause.Trigger));
        Assert.Contains("drain of h1", move.Cause.Summary);
        ExpectUnschedulable(["h1"]);
        var host = Ask<RebalanceStatus>(rebalancer, GetRebalanceStatus.Instance).Hosts.Single(h => h.Host == "h1");
        Assert.True(host.Draining);
        Assert.StartsWith("labels:", host.Stuck["zoned"]);
        _region.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        Assert.Equal("h1", Ask<HostUndrained>(rebalancer, new UndrainHost("h1")).Host);
        ExpectUnschedulable([]);
    }

    [Fact]
    public void A_drained_vm_whose_move_is_refused_is_reported_stuck_with_the_refusal()
    {
        Report("h1", vms: [Vm("a", 0.5)]);
        Report("h2");
        var rebalancer = Start(Fast with { RetryBackoff = TimeSpan.FromSeconds(30) });
        Ask<DrainStarted>(rebalancer, new DrainHost("h1"));
        var move = _region.ExpectMsg<MigrateVm>(TimeSpan.FromSeconds(15));
        _region.Reply(new NotAllowed(move.VmId, "the VM is not running"));
        AwaitAssert(() => Assert.Contains("not running",
            Ask<RebalanceStatus>(rebalancer, GetRebalanceStatus.Instance).Hosts.Single(h => h.Host == "h1").Stuck.GetValueOrDefault("a")),
            TimeSpan.FromSeconds(15));
    }

    [Fact]
    public void Draining_an_unknown_host_answers_with_the_known_ones()
    {
        Report("h1");
        Report("h2");
        var rebalancer = Start(Fast);
        var notFound = Ask<HostNotFound>(rebalancer, new DrainHost("h9"));
        Assert.Equal(["h1", "h2"], notFound.Known);
        Assert.IsType<HostNotFound>(Ask<object>(rebalancer, new UndrainHost("h9")));
    }

    [Fact]
    public void Recovery_keeps_the_mode_and_the_drained_hosts()
    {
        Report("h1");
        Report("h2");
        var settings = Fast with { Mode = RebalanceMode.Automatic, SnapshotEvery = 3 };
        var rebalancer = Start(settings);
        Assert.Equal(RebalanceMode.Recommend, Ask<RebalanceStatus>(rebalancer, new SetRebalanceMode(RebalanceMode.Recommend)).Mode);
        Ask<DrainStarted>(rebalancer, new DrainHost("h1"));
        Ask<DrainStarted>(rebalancer, new DrainHost("h2"));
        Ask<HostUndrained>(rebalancer, new UndrainHost("h2"));
        Watch(rebalancer);
        rebalancer.Tell(PoisonPill.Instance);
        ExpectTerminated(rebalancer);

        var recovered = Start(settings);
        var status = Ask<RebalanceStatus>(recovered, GetRebalanceStatus.Instance);
        Assert.Equal(RebalanceMode.Recommend, status.Mode);
        Assert.Equal(["h1"], status.Hosts.Where(h => h.Draining).Select(h => h.Host));
        ExpectUnschedulable(["h1"]);
    }
}
