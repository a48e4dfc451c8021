using Cluster.Actors.Placement;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;

namespace Cluster.Actors.Rebalancing;

/// <summary>
/// The pure rebalancing rule. Host load = guest CPU load / vCPUs; imbalance = the population standard
/// deviation of the schedulable hosts' loads (see <see cref="RebalanceWorld"/>). Moves in flight or
/// settling are applied first and count against the limits (per host, as source or target, and
/// cluster-wide).
/// <list type="number">
/// <item>Drain: every VM of a draining host (largest memory first) goes to the schedulable host that fits it
/// (the <see cref="Placer"/> rule) and leaves the loads most even; a VM that fits nowhere is stuck, with the
/// Placer's reason. Drain moves ignore the threshold, the minimum gain and the cool-down.</item>
/// <item>Rebalance (when asked): while the imbalance is above the threshold, take the move with the best
/// gain (imbalance drop) per cost (<see cref="MoveCost"/>) among moves that keep every Placer rule, gain at
/// least the minimum, move no VM within its cool-down, never send a VM back to a host it left within the
/// history window, and fit the limits.</item>
/// </list>
/// Every rebalance move lowers the imbalance by at least the minimum gain and no move is undone, so steady
/// loads lead to a bounded number of moves.
/// </summary>
public static class RebalancePlanner
{
    /// <summary>Plans the moves; <paramref name="rebalance"/> false plans only drain moves.</summary>
    public static RebalancePlan Plan(RebalanceInput input, RebalanceSettings settings, PlacementSettings placement, bool rebalance)
    {
        var world = new RebalanceWorld(input.Hosts, input.Pending);
        var loads = world.Loads();
        var imbalance = world.Imbalance();
        var limits = new MoveLimits(settings, input.Pending.Where(p => p.Active));
        var busy = input.Pending.Select(p => p.VmId).Concat(input.Held).ToHashSet(StringComparer.Ordinal);
        var steps = new List<PlanStep>();
        var stuck = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        var planner = new Planning(world, settings, placement, limits, busy, steps);
        foreach (var host in world.Hosts.Where(h => h.Draining).ToList())
        {
            var hostStuck = planner.Drain(host.Host);
            if (hostStuck.Count > 0)
                stuck[host.Host] = hostStuck;
        }
        if (rebalance)
            planner.Rebalance(input.History, input.Now);
        return new RebalancePlan(loads, imbalance, world.Imbalance(), steps, stuck);
    }

    /// <summary>The current loads and imbalance of <paramref name="hosts"/> (pending moves applied).</summary>
    public static (IReadOnlyDictionary<string, double> Loads, double Imbalance) Measure(
        IReadOnlyList<PlannerHost> hosts, IReadOnlyList<PendingMove> pending)
    {
        var world = new RebalanceWorld(hosts, pending);
        return (world.Loads(), world.Imbalance());
    }

    private sealed class Planning(
        RebalanceWorld world, RebalanceSettings settings, PlacementSettings placement, MoveLimits limits, HashSet<string> busy,
        List<PlanStep> steps)
    {
        public Dictionary<string, string> Drain(string host)
        {
            var stuck = new Dictionary<string, string>(StringComparer.Ordinal);
            var others = world.Hosts.Where(h => h.Host != host).Select(h => h.Host).ToList();
            foreach (var vm in world.VmsOn(host).OrderByDescending(v => v.MemoryBytes).ThenBy(v => v.VmId, StringComparer.Ordinal).ToList())
            {
                if (busy.Contains(vm.VmId))
                    continue;
                var fits = others.Where(t => Check(vm, host, [t]).Placed).ToList();
                if (fits.Count == 0)
                {
                    var refusal = Check(vm, host, others);
                    stuck[vm.VmId] = others.Count == 0 ? "no other host is up" : $"{refusal.Resource}: {refusal.Message}";
                    continue;
                }
                var target = fits.Where(t => limits.Allows(host, t))
                    .Select(t => (Host: t, After: world.ImbalanceIf(vm, host, t)))
                    .OrderBy(c => c.After).ThenBy(c => c.Host, StringComparer.Ordinal)
                    .Select(c => c.Host).FirstOrDefault();
                if (target is not null)
                    Add(vm, host, target, MigrationTrigger.Drain);
            }
            return stuck;
        }

        public void Rebalance(IReadOnlyList<RecentMove> history, DateTime now)
        {
            var recent = history.Where(m => now - m.At < settings.History).ToList();
            var cooling = recent.Where(m => now - m.At < settings.CoolDown).Select(m => m.VmId).ToHashSet(StringComparer.Ordinal);
            var left = recent.Select(m => (m.VmId, m.From)).ToHashSet();
            var schedulable = world.Hosts.Where(h => !h.Draining).Select(h => h.Host).ToList();
            while (limits.AnyLeft && world.Imbalance() is var current && current > settings.Threshold)
            {
                (PlannerVm Vm, string From, string To, double Score, double Cost)? best = null;
                foreach (var from in schedulable)
                {
                    foreach (var vm in world.VmsOn(from).Where(v => !busy.Contains(v.VmId) && !cooling.Contains(v.VmId)).ToList())
                    {
                        var cost = MoveCost.Of(vm, settings).Seconds;
                        foreach (var to in schedulable)
                        {
                            if (to == from || left.Contains((vm.VmId, to)) || !limits.Allows(from, to))
                                continue;
                            var gain = current - world.ImbalanceIf(vm, from, to);
                            if (gain < settings.MinGain)
                                continue;
                            var score = gain / cost;
                            if (best is { } b && !Better(score, cost, vm.VmId, to, b.Score, b.Cost, b.Vm.VmId, b.To))
                                continue;
                            if (Check(vm, from, [to]).Placed)
                                best = (vm, from, to, score, cost);
                        }
                    }
                }
                if (best is not { } chosen)
                    break;
                Add(chosen.Vm, chosen.From, chosen.To, MigrationTrigger.Rebalance);
            }
        }

        /// <summary>Higher gain per cost wins; then the cheaper move; then the lower VM id and host address (determinism).</summary>
        private static bool Better(double score, double cost, string vm, string to, double bestScore, double bestCost, string bestVm, string bestTo)
        {
            const double Epsilon = 1e-9;
            if (Math.Abs(score - bestScore) > Epsilon * Math.Max(1, Math.Abs(bestScore)))
                return score > bestScore;
            if (Math.Abs(cost - bestCost) > Epsilon)
                return cost < bestCost;
            var byVm = string.CompareOrdinal(vm, bestVm);
            return byVm != 0 ? byVm < 0 : string.CompareOrdinal(to, bestTo) < 0;
        }

        private PlacementResult Check(PlannerVm vm, string from, IReadOnlyList<string> targets) =>
            Placer.Choose(Request(vm, from), [.. targets.Select(world.View)], placement);

        private PlacementRequest Request(PlannerVm vm, string from) =>
            new(vm.VmId, vm.Vcpus, vm.MemoryBytes, vm.AntiAffinityGroup, vm.RequiredLabels ?? world.Host(from).Labels) { Disks = vm.Disks ?? [] };

        private void Add(PlannerVm vm, string from, string to, MigrationTrigger trigger)
        {
            var explanation = MoveExplanation.Build(world, vm, from, to, trigger, Request(vm, from), settings, placement);
            world.Move(vm, from, to);
            limits.Take(from, to);
            busy.Add(vm.VmId);
            steps.Add(explanation);
        }
    }
}
