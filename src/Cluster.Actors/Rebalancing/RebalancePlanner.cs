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
        return new RebalancePlan(loads, imbalance, world.Imbalance(), steps, stuck) { Work = planner.Work };
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
        private long _scans, _sources, _vms, _aims, _targets, _refusals;

        public PlanWork Work => new(_scans, _sources, _vms, _aims, _targets, _refusals);

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
            var left = recent.GroupBy(m => m.VmId, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Select(m => m.From).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
            var schedulable = world.Hosts.Where(h => !h.Draining).Select(h => h.Host).ToList();
            // The VMs each schedulable host may give (not busy, not cooling down), with their costs and target sets, built
            // once: a VM planned to move is busy from then on, so it only ever leaves these lists.
            var sets = new TargetSets(world, schedulable);
            var movable = schedulable.Select(h => world.VmsOn(h).Where(v => !busy.Contains(v.VmId) && !cooling.Contains(v.VmId))
                .Select(v => (v, MoveCost.Of(v, settings).Seconds, sets.Of(v, h))).ToList()).ToList();
            var candidates = movable.Select(vms => new HostCandidates(vms, sets.Count)).ToArray();
            var order = new List<(int Host, double Bound)>(schedulable.Count);
            var refused = new HashSet<(PlannerVm Vm, int To)>();
            while (limits.AnyLeft && world.Imbalance() is var current && current > settings.Threshold)
            {
                // The limits do not change during one step's scan: a host that may take no move is no source or target.
                var scan = world.Scan(schedulable, limits.Open, sets.Members);
                // The best candidate by the figures alone, then the Placer's check of that one only: when it refuses, the
                // pair is left out and the scan runs again (the next best), so the Placer sees about one candidate per step.
                refused.Clear();
                Candidate? chosen = null;
                while (Best(schedulable, candidates, sets.Count, order, scan, current, left, refused) is { } best)
                {
                    if (Check(best.Vm, schedulable[best.From], [schedulable[best.To]]).Placed)
                    {
                        chosen = best;
                        break;
                    }
                    refused.Add((best.Vm, best.To));
                    _refusals++;
                }
                if (chosen is not { } move)
                    break;
                Add(move.Vm, schedulable[move.From], schedulable[move.To], MigrationTrigger.Rebalance);
                candidates[move.From].Remove(move.Vm, move.Set);
            }
        }

        /// <summary>A candidate move: the VM and its target set, its source and target (indexes of the schedulable hosts), its gain per cost and its cost.</summary>
        private readonly record struct Candidate(PlannerVm Vm, int Set, int From, int To, double Score, double Cost);

        /// <summary>
        /// The best candidate of one step by gain per cost (<see cref="Better"/>) among those that gain the minimum and keep the
        /// limits, the label rule, the no-undo rule and are not <paramref name="refused"/>, without asking the Placer.
        /// </summary>
        private Candidate? Best(
            IReadOnlyList<string> schedulable, HostCandidates[] candidates, int sets, List<(int Host, double Bound)> order, CandidateScan scan,
            double current, Dictionary<string, HashSet<string>> left, HashSet<(PlannerVm Vm, int To)> refused)
        {
            // Sources best first by a bound of the gain per cost any of their VMs can reach (per target set: a VM only
            // goes to the hosts with its labels), so that once the best candidate so far beats a host's bound, that
            // host and every later one are skipped whole. A host the limits close is no source (and in no target set).
            order.Clear();
            for (var f = 0; f < schedulable.Count; f++)
            {
                if (scan.IsOpen(f) && candidates[f].Bound(scan, current, f, settings.MinGain) is { } bound)
                    order.Add((f, bound));
            }
            order.Sort((x, y) => y.Bound != x.Bound ? y.Bound.CompareTo(x.Bound) : x.Host.CompareTo(y.Host));
            _scans++;
            Candidate? best = null;
            foreach (var (f, bound) in order)
            {
                if (best is { } b && double.IsFinite(b.Score) && bound < b.Score - 2 * Epsilon * Math.Max(1, Math.Abs(b.Score)))
                    break;
                _sources++;
                for (var set = 0; set < sets; set++)
                {
                    var most = candidates[f].Gain(set);
                    foreach (var (vm, cost) in candidates[f].Vms(set))
                    {
                        var needed = Needed(cost, best?.Score);
                        // Cheapest first: once the set's most gain cannot pay for this VM's cost, no later VM's can.
                        if (most < needed)
                            break;
                        _vms++;
                        if (current - scan.BestImbalanceIf(vm.CpuLoad, f, set) < needed)
                            continue;
                        // Within one VM's targets the best only rises (a tie goes to the lower address, tried first),
                        // so a target that cannot reach the needed gain now never could.
                        scan.AimAt(vm.CpuLoad, f, current, needed, set);
                        _aims++;
                        var hasLeft = left.GetValueOrDefault(vm.VmId);
                        foreach (var t in scan.Targets(set))
                        {
                            var to = schedulable[t];
                            if (t == f || scan.Hopeless(t, set) || hasLeft?.Contains(to) == true)
                                continue;
                            var gain = current - scan.ImbalanceIf(vm.CpuLoad, f, t);
                            _targets++;
                            if (gain < settings.MinGain)
                                continue;
                            var score = gain / cost;
                            if (best is { } b2 && !Better(score, cost, vm.VmId, to, b2.Score, b2.Cost, b2.Vm.VmId, schedulable[b2.To]))
                                continue;
                            if (refused.Count == 0 || !refused.Contains((vm, t)))
                                best = new Candidate(vm, set, f, t, score, cost);
                        }
                    }
                }
            }
            return best;
        }

        /// <summary>
        /// The target sets of the schedulable hosts: one per distinct set of labels the VMs require (a VM of unknown spec
        /// requires its current host's labels, as <see cref="LabelsFit"/> reads it), each the hosts that carry those labels.
        /// </summary>
        private sealed class TargetSets(RebalanceWorld world, IReadOnlyList<string> hosts)
        {
            private readonly Dictionary<string, int> _byKey = new(StringComparer.Ordinal);
            private readonly List<bool[]> _members = [];

            /// <summary>Per set, whether each host (in the order of the hosts) carries its labels.</summary>
            public IReadOnlyList<bool[]> Members => _members;

            public int Count => _members.Count;

            /// <summary>The set of the hosts <paramref name="vm"/> may go to from <paramref name="from"/> by the label rule.</summary>
            public int Of(PlannerVm vm, string from)
            {
                var labels = vm.RequiredLabels ?? world.Host(from).Labels;
                var key = string.Concat(labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}\0{l.Value}\0"));
                if (_byKey.TryGetValue(key, out var set))
                    return set;
                _byKey[key] = _members.Count;
                _members.Add([.. hosts.Select(h => LabelsFit(labels, world.Host(h).Labels))]);
                return _members.Count - 1;
            }
        }

        /// <summary>
        /// A source host's movable VMs per target set, cheapest first (then in the host's order), with per set the least and
        /// most CPU load among them and, after <see cref="Bound"/>, the most gain any of them can bring.
        /// </summary>
        private sealed class HostCandidates
        {
            private readonly List<(PlannerVm Vm, double Cost)>[] _bySet;
            private readonly double[] _minLoad;
            private readonly double[] _maxLoad;
            private readonly double[] _gain;

            public HostCandidates(IEnumerable<(PlannerVm Vm, double Cost, int Set)> vms, int sets)
            {
                _bySet = [.. Enumerable.Range(0, sets).Select(_ => new List<(PlannerVm, double)>())];
                foreach (var (vm, cost, set) in vms.OrderBy(v => v.Cost))
                    _bySet[set].Add((vm, cost));
                (_minLoad, _maxLoad, _gain) = (new double[sets], new double[sets], new double[sets]);
                for (var set = 0; set < sets; set++)
                    Summarise(set);
            }

            /// <summary>The VMs of target set <paramref name="set"/>, cheapest first.</summary>
            public List<(PlannerVm Vm, double Cost)> Vms(int set) => _bySet[set];

            /// <summary>The most gain a VM of <paramref name="set"/> can bring, as of the last <see cref="Bound"/> (-infinity: none gains the minimum).</summary>
            public double Gain(int set) => _gain[set];

            /// <summary>
            /// An upper bound of the gain per cost any of these VMs can reach (the best over their target sets), or null
            /// when none can gain the minimum; keeps each set's most gain for <see cref="Gain"/>.
            /// </summary>
            public double? Bound(CandidateScan scan, double current, int from, double minGain)
            {
                double? bound = null;
                for (var set = 0; set < _bySet.Length; set++)
                {
                    _gain[set] = double.NegativeInfinity;
                    if (_bySet[set].Count == 0)
                        continue;
                    var gain = current - scan.BestImbalanceOver(_minLoad[set], _maxLoad[set], from, set);
                    if (gain < minGain - 1e-12)
                        continue;
                    _gain[set] = gain;
                    var cheapest = _bySet[set][0].Cost;
                    var perCost = cheapest > 0 ? gain / cheapest : double.PositiveInfinity;
                    bound = Math.Max(bound ?? perCost, perCost);
                }
                return bound;
            }

            public void Remove(PlannerVm vm, int set)
            {
                _bySet[set].RemoveAll(v => ReferenceEquals(v.Vm, vm));
                Summarise(set);
            }

            private void Summarise(int set)
            {
                (_minLoad[set], _maxLoad[set]) = (double.PositiveInfinity, double.NegativeInfinity);
                foreach (var (vm, _) in _bySet[set])
                    (_minLoad[set], _maxLoad[set]) = (Math.Min(_minLoad[set], vm.CpuLoad), Math.Max(_maxLoad[set], vm.CpuLoad));
            }
        }

        /// <summary>
        /// The least gain a move of cost <paramref name="cost"/> needs to pass the minimum gain and to be <see cref="Better"/>
        /// than the best so far, less a margin (beyond <see cref="Better"/>'s tolerance, so a near tie is still tried).
        /// </summary>
        private double Needed(double cost, double? bestScore)
        {
            var needed = settings.MinGain - 1e-12;
            // A free move (cost 0) scores infinity: then only the minimum gain counts.
            return bestScore is { } b && double.IsFinite(b) && cost > 0
                ? Math.Max(needed, (b - 2 * Epsilon * Math.Max(1, Math.Abs(b))) * cost)
                : needed;
        }

        /// <summary>Scores closer than this (relative) are a tie.</summary>
        private const double Epsilon = 1e-9;

        /// <summary>Higher gain per cost wins; then the cheaper move; then the lower VM id and host address (determinism).</summary>
        private static bool Better(double score, double cost, string vm, string to, double bestScore, double bestCost, string bestVm, string bestTo)
        {
            if (Math.Abs(score - bestScore) > Epsilon * Math.Max(1, Math.Abs(bestScore)))
                return score > bestScore;
            if (Math.Abs(cost - bestCost) > Epsilon)
                return cost < bestCost;
            var byVm = string.CompareOrdinal(vm, bestVm);
            return byVm != 0 ? byVm < 0 : string.CompareOrdinal(to, bestTo) < 0;
        }

        /// <summary>Whether a host with <paramref name="labels"/> has every label in <paramref name="required"/> (the <see cref="Placer"/>'s label rule).</summary>
        private static bool LabelsFit(IReadOnlyDictionary<string, string> required, IReadOnlyDictionary<string, string> labels)
        {
            foreach (var (key, value) in required)
            {
                if (!labels.TryGetValue(key, out var v) || v != value)
                    return false;
            }
            return true;
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
