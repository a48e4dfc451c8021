using Cluster.Actors.Placement;
using Cluster.Actors.Rebalancing;

namespace Cluster.Actors.Tests.Rebalancing;

/// <summary>Builders of planner inputs for the rebalancing tests.</summary>
internal static class PlannerCluster
{
    public const ulong MiB = 1024 * 1024;

    public static readonly DateTime Now = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    /// <summary>Limits loose enough not to matter unless a test sets them.</summary>
    public static RebalanceSettings Loose { get; } = RebalanceSettings.Default with { MaxMoves = 100, MaxMovesPerHost = 100, Threshold = 0.05 };

    public static PlacementSettings Placing { get; } = PlacementSettings.Default;

    public static PlannerVm Vm(string id, double load, ulong memoryMiB = 64, int vcpus = 1, string? group = null,
        double? dirty = null, params (string Key, string Value)[] requires) =>
        new(id, vcpus, memoryMiB * MiB, group, load, requires.ToDictionary(r => r.Key, r => r.Value), dirty);

    public static PlannerHost Host(string name, params PlannerVm[] vms) => Host(name, 4, 4096, "a", false, vms);

    public static PlannerHost Host(string name, int vcpus, ulong memoryMiB, string zone, bool draining, params PlannerVm[] vms) =>
        new(name, vcpus, memoryMiB * MiB, new Dictionary<string, string> { ["zone"] = zone }, draining, vms);

    public static RebalanceInput Input(IReadOnlyList<PlannerHost> hosts, IReadOnlyList<PendingMove>? pending = null,
        IReadOnlyList<RecentMove>? history = null, IReadOnlySet<string>? held = null) =>
        new(hosts, pending ?? [], history ?? [], held ?? new HashSet<string>(), Now);

    public static RebalancePlan Plan(RebalanceInput input, RebalanceSettings? settings = null, bool rebalance = true) =>
        RebalancePlanner.Plan(input, settings ?? Loose, Placing, rebalance);
}
