using Cluster.Actors.Placement;
using Cluster.Actors.Rebalancing;
using ScaleBench.Sim;

namespace Cluster.Actors.Tests.Rebalancing;

/// <summary>
/// The scale benchmark's simulation (bench/scale, its Sim folder compiled in here) at a small size: 20 hosts and 500 VMs
/// placed one by one, a load shift rebalanced, a host crash restarted. Invariants only, no timings.
/// </summary>
public sealed class ScaleSimulationTests
{
    private static readonly PlacementSettings Placing = PlacementSettings.Default;

    [Fact]
    public void Placing_rebalancing_and_restarting_a_simulated_cluster_keeps_every_rule()
    {
        var cluster = new SimCluster(new SimShape(20, 500, Seed: 7));
        var place = new PlacementRun(cluster, Placing, reportEvery: 20);
        place.Run();
        Assert.Empty(place.Refused);
        Assert.Empty(SimChecks.Problems(cluster, Placing));

        cluster.HotTenant();
        cluster.ReportAll();
        var settings = RebalanceSettings.Default with { MaxMoves = 500, MaxMovesPerHost = 500, MinGain = 1e-6 };
        var before = SimChecks.Imbalance(cluster, cluster.Hosts);
        Assert.True(before > settings.Threshold, $"the load shift leaves the cluster balanced ({before})");
        var least = SimChecks.LeastMoves(cluster, settings.Threshold);
        var plan = RebalanceRun.Evaluate(cluster, settings, Placing).Plan;
        Assert.InRange(plan.Steps.Count, Math.Max(1, least), 500);
        Assert.True(plan.ImbalanceAfter <= settings.Threshold, $"planned imbalance {plan.ImbalanceAfter}");
        foreach (var step in plan.Steps)
            cluster.Run(step.Move.VmId, step.Move.To);
        cluster.ReportAll();
        Assert.Empty(SimChecks.Problems(cluster, Placing));
        Assert.Equal(plan.ImbalanceAfter, SimChecks.Imbalance(cluster, cluster.Hosts), 9);

        var ha = new HaRun(cluster, Placing);
        var victim = cluster.Hosts[3];
        var down = cluster.VmsOn(victim).Count;
        ha.Run(victim);
        Assert.Equal(down, ha.Vms);
        Assert.Empty(ha.Stuck);
        Assert.Empty(cluster.VmsOn(victim));
        Assert.Empty(SimChecks.Problems(cluster, Placing));
    }

    [Fact]
    public void The_move_lower_bound_counts_the_fewest_moves_of_a_small_case()
    {
        // Two hosts of 4 vCPUs: loads 2.0 and 0 (VMs of 1.0 and 0.5 twice on the first); threshold 0.1. Moving the
        // 1.0 VM leaves loads 0.25 and 0.25: one move.
        IReadOnlyList<MoveLowerBound.Group> hosts =
        [
            new(1, 2.0 / 4, [1.0 / 4, 0.5 / 4, 0.5 / 4]),
            new(1, 0, []),
        ];
        Assert.Equal(1, MoveLowerBound.Of(hosts, 2, 0.1));
        Assert.Equal(0, MoveLowerBound.Of(hosts, 2, 0.3));
    }
}
