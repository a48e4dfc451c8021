namespace Cluster.Actors.Rebalancing;

/// <summary>
/// How few moves could even the loads out: the yardstick a plan's length (and the moves a rebalance made) is read
/// against. Loads are the planner's (guest CPU load / host vCPUs, each VM a share of its host) over the schedulable
/// hosts, counted in units u, the median share of the VMs that carry load (a tenth of the heaviest's share or more; idle
/// guests do not set the unit): an even cluster has every host at F or F + u, where
/// F = u x floor(mean / u), and the r hosts that carry the extra unit (r = (total - n F) / u, rounded) are the most loaded
/// ones now, which leaves the least to move. A host above its allowance sheds its heaviest VMs first, which needs the
/// fewest; the sum over hosts is the answer. For VMs of equal load (the demo's busy guests) it is exactly the fewest
/// moves after which the hosts' VM counts differ by at most one; a tolerance of half a unit absorbs measurement noise
/// in the loads.
/// </summary>
public static class RebalanceBound
{
    /// <summary>How far above its allowance a host may be, in units, and still count as even (load measurement noise).</summary>
    private const double Tolerance = 0.5;

    /// <summary>The fewest moves that leave every schedulable host within one unit of the others (0 with fewer than two
    /// hosts or no load).</summary>
    public static int FewestMoves(IReadOnlyList<PlannerHost> hosts)
    {
        var schedulable = hosts.Where(h => !h.Draining && h.Vcpus > 0)
            .Select(h => (h.Host, Shares: h.Vms.Select(v => Math.Max(0, v.CpuLoad) / h.Vcpus).OrderByDescending(s => s).ToList()))
            .Select(h => (h.Host, h.Shares, Load: h.Shares.Sum()))
            .OrderByDescending(h => h.Load).ThenBy(h => h.Host, StringComparer.Ordinal)
            .ToList();
        var n = schedulable.Count;
        var heaviest = schedulable.SelectMany(h => h.Shares).DefaultIfEmpty(0).Max();
        if (n < 2 || heaviest <= 0)
            return 0;
        var loaded = schedulable.SelectMany(h => h.Shares).Where(s => s >= heaviest / 10).Order().ToList();
        var unit = loaded[loaded.Count / 2];
        var total = schedulable.Sum(h => h.Load);
        var floor = unit * Math.Floor(total / (n * unit) + 0.1 / n);
        var extra = Math.Clamp((int)Math.Round((total - n * floor) / unit), 0, n);
        var moves = 0;
        for (var i = 0; i < n; i++)
        {
            var allowed = floor + (i < extra ? unit : 0) + Tolerance * unit;
            var load = schedulable[i].Load;
            foreach (var share in schedulable[i].Shares)
            {
                if (load <= allowed)
                    break;
                load -= share;
                moves++;
            }
        }
        return moves;
    }
}
