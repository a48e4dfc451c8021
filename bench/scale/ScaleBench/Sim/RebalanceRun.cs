using System.Diagnostics;
using Cluster.Actors.Placement;
using Cluster.Actors.Rebalancing;

namespace ScaleBench.Sim;

/// <summary>
/// One evaluation of the <c>Rebalancer</c> singleton over the simulated cluster: the board's views, the planner's
/// hosts built from them as <c>RebalanceView.PlannerHosts</c> does (each VM's required labels and disks from its
/// placement decision; no dirty rate measured yet), <see cref="RebalancePlanner.Measure"/>, then
/// <see cref="RebalancePlanner.Plan"/> with no move pending and no history.
/// </summary>
public static class RebalanceRun
{
    /// <summary>What one evaluation took and planned.</summary>
    public sealed record Result(
        RebalancePlan Plan, IReadOnlyList<PlannerHost> Hosts, double ViewsMs, double InputMs, double MeasureMs, double PlanMs, double PlanCpuMs)
    {
        public double TotalMs => ViewsMs + InputMs + MeasureMs + PlanMs;
    }

    public static Result Evaluate(SimCluster cluster, RebalanceSettings settings, PlacementSettings placement)
    {
        var board = cluster.Board;
        var start = Stopwatch.GetTimestamp();
        var views = board.Views(placement.PendingFor);
        var t1 = Stopwatch.GetTimestamp();
        var hosts = PlannerHosts(views, board);
        var t2 = Stopwatch.GetTimestamp();
        RebalancePlanner.Measure(hosts, []);
        var t3 = Stopwatch.GetTimestamp();
        var cpu = ThreadClock.Ms();
        var plan = RebalancePlanner.Plan(new RebalanceInput(hosts, [], [], new HashSet<string>(StringComparer.Ordinal), DateTime.UtcNow),
            settings, placement, rebalance: true);
        var t4 = Stopwatch.GetTimestamp();
        return new Result(plan, hosts, Ms(start, t1), Ms(t1, t2), Ms(t2, t3), Ms(t3, t4), ThreadClock.Ms() - cpu);
    }

    /// <summary>The planner's hosts, as <c>RebalanceView.PlannerHosts</c> builds them (nothing drained).</summary>
    public static List<PlannerHost> PlannerHosts(IReadOnlyList<HostView> views, PlacementBoard board) =>
    [
        .. views.Select(h => new PlannerHost(h.Host, h.Vcpus, h.MemoryBytes, h.Labels, false,
            [.. h.Vms.Select(v => board.DecisionFor(v.VmId) is { } d
                ? new PlannerVm(v.VmId, v.Vcpus, v.MemoryBytes, v.AntiAffinityGroup, v.CpuLoad, PlacementRequest.Of(d.Spec).RequiredLabels, null, d.Spec.Disks)
                : new PlannerVm(v.VmId, v.Vcpus, v.MemoryBytes, v.AntiAffinityGroup, v.CpuLoad))],
            h.Disks)),
    ];

    private static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
}
