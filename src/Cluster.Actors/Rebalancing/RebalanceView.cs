using Cluster.Actors.Placement;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Rebalancing;

namespace Cluster.Actors.Rebalancing;

/// <summary>Translates between the placement board's picture and the rebalancer's: planner input in, status hosts out.</summary>
internal static class RebalanceView
{
    /// <summary>
    /// The hosts as the planner sees them: draining when drained; each VM with its required labels from its
    /// placement decision when this node knows it (null otherwise), its disks from the same decision, and its dirty rate
    /// when a migration measured it, its CPU load and memory in use as its host measured them (from its worker's cgroup where
    /// it has one); each host with what it sees at the cluster's disk paths.
    /// </summary>
    public static List<PlannerHost> PlannerHosts(IReadOnlyList<HostView> views, IReadOnlySet<string> drained,
        Func<string, PlacementDecided?> decisionFor, Func<string, double?> dirtyRate) =>
    [
        .. views.Select(h => new PlannerHost(h.Host, h.Vcpus, h.MemoryBytes, h.Labels, drained.Contains(h.Host),
            [.. h.Vms.Select(v => decisionFor(v.VmId) is { } d
                ? new PlannerVm(v.VmId, v.Vcpus, v.MemoryBytes, v.AntiAffinityGroup, v.CpuLoad, PlacementRequest.Of(d.Spec).RequiredLabels,
                    dirtyRate(v.VmId), d.Spec.Disks, v.MemoryUsedBytes)
                : new PlannerVm(v.VmId, v.Vcpus, v.MemoryBytes, v.AntiAffinityGroup, v.CpuLoad, null, dirtyRate(v.VmId), null, v.MemoryUsedBytes))],
            h.Disks)),
    ];

    /// <summary>
    /// Every host with its load and drain state; a draining host lists its stuck VMs: those that fit nowhere
    /// (from the plan) and those whose VM refused to move (<paramref name="refusals"/>; a failed migration is only retried).
    /// A drained host that reports no more (it left) is listed with load 0.
    /// </summary>
    public static List<RebalanceHost> StatusHosts(RebalancePlan plan, IReadOnlyList<PlannerHost> hosts, IReadOnlySet<string> drained,
        IReadOnlyDictionary<string, string> refusals)
    {
        IReadOnlyDictionary<string, string> Stuck(PlannerHost host)
        {
            var stuck = new Dictionary<string, string>(plan.Stuck.GetValueOrDefault(host.Host) ?? new Dictionary<string, string>(),
                StringComparer.Ordinal);
            foreach (var vm in host.Draining ? host.Vms : [])
            {
                if (refusals.TryGetValue(vm.VmId, out var reason))
                    stuck.TryAdd(vm.VmId, reason);
            }
            return stuck;
        }

        return
        [
            .. hosts.Select(h => new RebalanceHost(h.Host, plan.Loads.GetValueOrDefault(h.Host), h.Draining, Stuck(h)))
                .Concat(drained.Where(d => hosts.All(h => h.Host != d)).Select(d => new RebalanceHost(d, 0, true, new Dictionary<string, string>())))
                .OrderBy(h => h.Host, StringComparer.Ordinal),
        ];
    }
}
