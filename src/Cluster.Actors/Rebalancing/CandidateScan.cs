namespace Cluster.Actors.Rebalancing;

/// <summary>
/// The figures one rebalance step reads for every candidate move, copied out of the <see cref="RebalanceWorld"/> into
/// arrays indexed like the schedulable hosts, so a candidate costs a few array reads instead of dictionary look-ups.
/// <see cref="ImbalanceIf"/> does the very arithmetic of <see cref="RebalanceWorld.ImbalanceIf"/> (same operations, same
/// order), so it gives the same bits and the plan is the one the world's own method would give.
/// <para>
/// <see cref="BestImbalanceIf"/> bounds a VM's candidates from below without trying each target: among targets with
/// the same vCPUs, the imbalance after the move grows with the target's guest CPU (the target's squared load grows by
/// (2 cpu c + c^2) / vcpus^2, its load by c / vcpus whatever its cpu), so the least loaded target of each vCPU count
/// that the limits allow gives the least imbalance any target can give. A VM whose best gain per cost cannot beat the
/// best candidate found so far is then skipped whole, and of the others only the targets that can still beat it
/// (<see cref="AimAt"/>, <see cref="Hopeless"/>) are tried.
/// </para>
/// <para>
/// Each of these questions is asked of one target set: the open hosts that carry the labels a group of VMs requires. A VM
/// that requires zone z0 is bounded by the least loaded host of z0, not by a host it could never go to, and only the
/// hosts of its set are tried: with 40% of the VMs bound to one zone of four, most targets of the whole cluster would
/// pass the gain test and fail the label rule.
/// </para>
/// </summary>
internal sealed class CandidateScan
{
    private readonly double[] _cpu;
    private readonly int[] _vcpus;
    private readonly bool[] _counts;
    private readonly bool[] _open;
    private readonly double _sum;
    private readonly double _squares;
    private readonly int _counted;
    private readonly TargetSet[] _sets;

    /// <param name="cpu">Each host's guest CPU load.</param>
    /// <param name="vcpus">Each host's vCPUs.</param>
    /// <param name="counts">Whether each host counts in the imbalance.</param>
    /// <param name="open">Whether each host may take a move now (the limits).</param>
    /// <param name="sums">The world's running sums: hosts counted, sum of loads, sum of squared loads.</param>
    /// <param name="sets">
    /// The target sets, each as whether each host belongs to it (the hosts with the labels a group of VMs requires), or null
    /// for one set of every host. Every question about targets is asked of one set: its open members only.
    /// </param>
    public CandidateScan(
        double[] cpu, int[] vcpus, bool[] counts, bool[] open, (int Counted, double Sum, double Squares) sums, IReadOnlyList<bool[]>? sets = null)
    {
        (_cpu, _vcpus, _counts, _open) = (cpu, vcpus, counts, open);
        (_counted, _sum, _squares) = sums;
        _sets = sets is null
            ? [new TargetSet(cpu, vcpus, counts, open, null)]
            : [.. sets.Select(member => new TargetSet(cpu, vcpus, counts, open, member))];
    }

    /// <summary>Whether host <paramref name="host"/> may take part in a move now (the limits).</summary>
    public bool IsOpen(int host) => _open[host];

    /// <summary>The open hosts of target set <paramref name="set"/>, in index order.</summary>
    public ReadOnlySpan<int> Targets(int set = 0) => _sets[set].Members;

    /// <summary>
    /// Sets, per vCPU count, the most guest CPU a target of <paramref name="set"/> may have for moving <paramref name="cpuLoad"/> off
    /// <paramref name="from"/> to it to gain at least <paramref name="gain"/> (from <paramref name="current"/>);
    /// <see cref="Hopeless"/> then answers for each target. The gain falls as the target's CPU grows (see above), so it is
    /// a binary search among the open targets of each vCPU count, ordered by CPU.
    /// </summary>
    public void AimAt(double cpuLoad, int from, double current, double gain, int set = 0)
    {
        var targets = _sets[set];
        for (var c = 0; c < targets.Classes.Length; c++)
        {
            var members = targets.Classes[c];
            var (lo, hi) = (0, members.Length);
            while (lo < hi)
            {
                var mid = (lo + hi) / 2;
                if (current - ImbalanceIf(cpuLoad, from, members[mid]) >= gain)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            targets.Cutoff[c] = lo == 0 ? double.NegativeInfinity : _cpu[members[lo - 1]];
        }
    }

    /// <summary>Whether open target <paramref name="to"/> of <paramref name="set"/> has more guest CPU than the last <see cref="AimAt"/> allows.</summary>
    public bool Hopeless(int to, int set = 0) => _counts[to] && _cpu[to] > _sets[set].Cutoff[_sets[set].ClassOf[to]];

    /// <summary>The imbalance if load <paramref name="cpuLoad"/> went from host <paramref name="from"/> to host <paramref name="to"/>.</summary>
    public double ImbalanceIf(double cpuLoad, int from, int to)
    {
        var (sum, squares) = Shift(from, -cpuLoad, _sum, _squares);
        (sum, squares) = Shift(to, cpuLoad, sum, squares);
        return Deviation(sum, squares);
    }

    /// <summary>The least imbalance moving load <paramref name="cpuLoad"/> (at least 0) off <paramref name="from"/> to any open host of <paramref name="set"/> can give.</summary>
    public double BestImbalanceIf(double cpuLoad, int from, int set = 0)
    {
        var targets = _sets[set];
        var (sum, squares) = Shift(from, -cpuLoad, _sum, _squares);
        var best = targets.AnyUncounted ? Deviation(sum, squares) : double.PositiveInfinity;
        foreach (var to in targets.LeastByVcpus)
        {
            var (s, q) = Shift(to, cpuLoad, sum, squares);
            best = Math.Min(best, Deviation(s, q));
        }
        return best;
    }

    /// <summary>
    /// A lower bound of the imbalance that moving any load between <paramref name="minLoad"/> and <paramref name="maxLoad"/>
    /// (at least 0) off <paramref name="from"/> to any open host of <paramref name="set"/> can give, so a whole host whose best gain per cost cannot
    /// beat the best candidate so far is skipped. For one target the variance after the move is a quadratic in the load
    /// moved with a positive leading term, so its least value over the range is at the vertex (clamped) or an end; the
    /// vertex comes from three exact evaluations, and the bound is lowered by a relative 1e-9 for rounding (far below the
    /// tolerance of the score comparison), so the bound never exceeds what a candidate really gives. Infinity when the set
    /// has no open host.
    /// </summary>
    public double BestImbalanceOver(double minLoad, double maxLoad, int from, int set = 0)
    {
        var targets = _sets[set];
        minLoad = Math.Max(0, minLoad);
        maxLoad = Math.Max(minLoad, maxLoad);
        var best = double.PositiveInfinity;
        if (targets.AnyUncounted)
            best = Math.Min(best, Math.Min(OffOnly(minLoad, from), OffOnly(maxLoad, from)));
        foreach (var to in targets.LeastByVcpus)
        {
            var scale = Math.Max(1, maxLoad);
            var (low, mid, high) = (Variance(-scale, from, to), Variance(0, from, to), Variance(scale, from, to));
            var a = (low + high) / 2 - mid;
            var b = (high - low) / 2;
            var vertex = a > 0 ? Math.Clamp(-b / (2 * a) * scale, minLoad, maxLoad) : minLoad;
            foreach (var x in (ReadOnlySpan<double>)[minLoad, vertex, maxLoad])
                best = Math.Min(best, ImbalanceIf(x, from, to));
        }
        // No open target at all (a set whose hosts are all closed, or a label no host has): no candidate, and no NaN.
        return double.IsPositiveInfinity(best) ? best : best - 1e-9 * Math.Max(1, Math.Abs(best));
    }

    /// <summary>The variance (before the square root) if load <paramref name="cpuLoad"/> (may be negative) went from <paramref name="from"/> to <paramref name="to"/>.</summary>
    private double Variance(double cpuLoad, int from, int to)
    {
        var (sum, squares) = Shift(from, -cpuLoad, _sum, _squares);
        (sum, squares) = Shift(to, cpuLoad, sum, squares);
        var mean = sum / _counted;
        return squares / _counted - mean * mean;
    }

    /// <summary>The imbalance if load <paramref name="cpuLoad"/> left <paramref name="from"/> for a host that does not count.</summary>
    private double OffOnly(double cpuLoad, int from)
    {
        var (sum, squares) = Shift(from, -cpuLoad, _sum, _squares);
        return Deviation(sum, squares);
    }

    private (double Sum, double Squares) Shift(int host, double delta, double sum, double squares)
    {
        if (!_counts[host])
            return (sum, squares);
        var (before, after) = ((_cpu[host] + 0) / _vcpus[host], (_cpu[host] + delta) / _vcpus[host]);
        return (sum + after - before, squares + after * after - before * before);
    }

    private double Deviation(double sum, double squares)
    {
        if (_counted < 2)
            return 0;
        var mean = sum / _counted;
        return Math.Sqrt(Math.Max(0, squares / _counted - mean * mean));
    }

    /// <summary>
    /// One target set's open hosts: in index order, the least loaded of each vCPU count, and those counted grouped by vCPU
    /// count in CPU order (with each host's group), with the cut-offs of the last <see cref="AimAt"/>.
    /// </summary>
    private sealed class TargetSet
    {
        public TargetSet(double[] cpu, int[] vcpus, bool[] counts, bool[] open, bool[]? member)
        {
            var least = new Dictionary<int, int>();
            var classes = new Dictionary<int, List<int>>();
            var members = new List<int>();
            ClassOf = new int[cpu.Length];
            for (var i = 0; i < cpu.Length; i++)
            {
                if (!open[i] || member?[i] == false)
                    continue;
                members.Add(i);
                if (!counts[i])
                {
                    AnyUncounted = true;
                    continue;
                }
                if (!least.TryGetValue(vcpus[i], out var j) || cpu[i] < cpu[j])
                    least[vcpus[i]] = i;
                if (!classes.TryGetValue(vcpus[i], out var group))
                    classes[vcpus[i]] = group = [];
                group.Add(i);
            }
            Members = [.. members];
            LeastByVcpus = [.. least.Values];
            Classes = [.. classes.Values.Select(c => c.OrderBy(i => cpu[i]).ToArray())];
            for (var c = 0; c < Classes.Length; c++)
            {
                foreach (var i in Classes[c])
                    ClassOf[i] = c;
            }
            Cutoff = new double[Classes.Length];
        }

        public int[] Members { get; }

        public int[] LeastByVcpus { get; }

        public bool AnyUncounted { get; }

        public int[][] Classes { get; }

        public int[] ClassOf { get; }

        public double[] Cutoff { get; }
    }
}
