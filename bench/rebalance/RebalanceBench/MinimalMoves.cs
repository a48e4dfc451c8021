namespace RebalanceBench;

/// <summary>
/// The least number of moves that bring identical VMs from one distribution over hosts to one the rebalancer
/// calls balanced: the population standard deviation of the host loads (VMs times the load of one VM) at or
/// under the threshold. Every distribution of the VMs over the hosts is tried (a handful of hosts and VMs).
/// </summary>
public static class MinimalMoves
{
    /// <summary>The least moves from <paramref name="counts"/> (VMs per host) to a balanced distribution; -1 if none is.</summary>
    public static int Count(IReadOnlyList<int> counts, double loadPerVm, double threshold)
    {
        var total = counts.Sum();
        var best = -1;
        foreach (var target in Distributions(total, counts.Count))
        {
            if (Deviation(target, loadPerVm) > threshold)
                continue;
            // Each VM over a host's target must leave it; VMs move only from hosts above their target.
            var moves = counts.Zip(target, (have, want) => Math.Max(0, have - want)).Sum();
            if (best < 0 || moves < best)
                best = moves;
        }
        return best;
    }

    /// <summary>The population standard deviation of the host loads.</summary>
    public static double Deviation(IReadOnlyList<int> counts, double loadPerVm)
    {
        var loads = counts.Select(c => c * loadPerVm).ToList();
        var mean = loads.Average();
        return Math.Sqrt(loads.Sum(l => (l - mean) * (l - mean)) / loads.Count);
    }

    private static IEnumerable<int[]> Distributions(int total, int hosts)
    {
        if (hosts == 1)
        {
            yield return [total];
            yield break;
        }
        for (var first = 0; first <= total; first++)
        {
            foreach (var rest in Distributions(total - first, hosts - 1))
                yield return [first, .. rest];
        }
    }
}
