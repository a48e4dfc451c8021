using Cluster.Actors.Placement;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;

namespace Cluster.Actors.Rebalancing;

/// <summary>
/// Explains a planned move in words and figures (the VM's MigrationCause carries both, so
/// <c>vmctl events --vm ID</c> answers "why did my VM move"): every host's load before, the two hosts' loads
/// before and after, the imbalance before and after against the threshold, the gain, the cost and its parts,
/// and the placement rules the target was checked against.
/// </summary>
internal static class MoveExplanation
{
    private const double MiB = 1024.0 * 1024;

    public static PlanStep Build(RebalanceWorld world, PlannerVm vm, string from, string to, MigrationTrigger trigger,
        PlacementRequest request, RebalanceSettings settings, PlacementSettings placement)
    {
        var before = world.Imbalance();
        var after = world.ImbalanceIf(vm, from, to);
        var gain = before - after;
        var cost = MoveCost.Of(vm, settings);
        var (fromBefore, fromAfter) = (world.Load(from), world.Load(from, -vm.CpuLoad));
        var (toBefore, toAfter) = (world.Load(to), world.Load(to, vm.CpuLoad));
        var rules = Rules(world.View(to), request, placement);
        var measured = vm.DirtyBytesPerSecond is null ? "estimated from CPU load" : "measured by an earlier migration";
        var why = trigger == MigrationTrigger.Drain
            ? $"drain of {from}: {vm.VmId} goes to {to}, the fitting host that leaves the loads most even"
            : $"rebalance: imbalance {before:0.000} is above the threshold {settings.Threshold:0.000}; moving {vm.VmId} " +
              $"from {from} to {to} has the best gain per cost";
        var summary = $"{why}; {from} load {fromBefore:0.00} -> {fromAfter:0.00}, {to} load {toBefore:0.00} -> {toAfter:0.00}; " +
                      $"imbalance {before:0.000} -> {after:0.000}; gain {gain:0.000} for cost {cost.Seconds:0.00} s " +
                      $"({vm.CopiedBytes / MiB:0} MiB to copy, dirty {cost.DirtyBytesPerSecond / MiB:0.0} MiB/s {measured}, " +
                      $"downtime ~{cost.DowntimeSeconds * 1000:0} ms); rules kept: {rules}";
        var inputs = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["trigger"] = trigger.ToString(),
            ["imbalance.before"] = $"{before:0.0000}",
            ["imbalance.after"] = $"{after:0.0000}",
            ["threshold"] = $"{settings.Threshold:0.0000}",
            ["gain"] = $"{gain:0.0000}",
            ["cost.seconds"] = $"{cost.Seconds:0.000}",
            ["cost.transfer-seconds"] = $"{cost.TransferSeconds:0.000}",
            ["cost.downtime-seconds"] = $"{cost.DowntimeSeconds:0.000}",
            ["vm.cpu-load"] = $"{vm.CpuLoad:0.000}",
            ["vm.vcpus"] = $"{vm.Vcpus}",
            ["vm.memory-bytes"] = $"{vm.MemoryBytes}",
            ["vm.memory-used-bytes"] = vm.MemoryUsedBytes is { } used ? $"{used} (its worker's cgroup)" : "not measured",
            ["vm.dirty-bytes-per-second"] = $"{cost.DirtyBytesPerSecond:0} ({measured})",
            ["from.load"] = $"{fromBefore:0.0000} -> {fromAfter:0.0000}",
            ["to.load"] = $"{toBefore:0.0000} -> {toAfter:0.0000}",
            ["rules"] = rules,
            ["limits"] = $"{settings.MaxMovesPerHost} per host, {settings.MaxMoves} cluster-wide",
        };
        foreach (var (host, load) in world.Loads())
            inputs[$"load.{host}"] = $"{load:0.0000}{(world.Host(host).Draining ? " (draining)" : "")}";
        return new PlanStep(new PlannedMove(vm.VmId, from, to, gain, cost.Seconds, summary), trigger, cost, inputs);
    }

    /// <summary>The placement rules the target meets, with the figures checked.</summary>
    private static string Rules(HostView target, PlacementRequest request, PlacementSettings placement)
    {
        var labels = request.RequiredLabels.Count == 0
            ? "no labels required"
            : $"labels {string.Join(", ", request.RequiredLabels.Select(l => $"{l.Key}={l.Value}"))} present";
        var group = request.AntiAffinityGroup is null ? "no anti-affinity group" : $"no other VM of group '{request.AntiAffinityGroup}'";
        var vcpus = $"vCPUs {target.UsedVcpus(request.VmId) + request.Vcpus}/{target.Vcpus * placement.VcpuOvercommit:0.##}";
        var memory = $"memory {(target.UsedMemory(request.VmId) + request.MemoryBytes) / MiB:0}/{target.MemoryBytes * placement.MemoryOvercommit / MiB:0} MiB";
        return $"{labels}; {group}; {vcpus}; {memory}; target schedulable";
    }
}
