namespace ScaleBench.Sim;

/// <summary>
/// A lower bound on the moves any planner needs to bring identical hosts to an imbalance (population standard
/// deviation of the host loads) at or under a threshold T. With n hosts of V vCPUs, d_h = load_h - mean (the mean does
/// not change when a VM moves between identical hosts); balanced means sum of d_h^2 &lt;= n T^2.
/// <para>
/// Take a partition of the hosts into groups (each host alone, or the zones) and D_g the mean of d_h over group g's
/// n_g hosts; sum of d_h^2 &gt;= sum of n_g D_g^2 (Cauchy-Schwarz), so a balanced end needs sum of n_g D'_g^2 &lt;= n T^2.
/// A group's load changes only by VMs that leave it or reach it. With M moves, at most M VMs leave groups and at most
/// M arrive. A group above the mean that k VMs leave keeps D_g - S_g(k)/(V n_g) at least, S_g(k) the CPU load of its
/// k busiest VMs that may leave it (arrivals only add); a group below it that j VMs reach stays at least
/// -D_g - j c_max/(V n_g) below it, c_max the busiest VM that may change group. So the least M with F(M) + G(M) &lt;= n T^2
/// is a bound: F(M) the least sum of n_g max(0, D_g - S_g(k_g)/(V n_g))^2 over the groups above the mean with sum of
/// k_g = M, G(M) the same for the groups below it. Each group's term is convex in its count, so the largest decreases,
/// taken greedily, give F and G exactly. Capacity, anti-affinity and the planner's costs are ignored (a relaxation), so
/// the true least is at or above it.
/// </para>
/// </summary>
public static class MoveLowerBound
{
    /// <summary>A group of hosts: how many, their summed load (guest CPU / V), and the loads (/ V) of the VMs that may leave it.</summary>
    public sealed record Group(int Hosts, double Load, IReadOnlyList<double> Leaving);

    /// <summary>The bound for <paramref name="groups"/> (a partition of all <paramref name="hosts"/> hosts).</summary>
    public static int Of(IReadOnlyList<Group> groups, int hosts, double threshold)
    {
        var mean = groups.Sum(g => g.Load) / hosts;
        var arriving = groups.SelectMany(g => g.Leaving).DefaultIfEmpty(0).Max();
        var over = Decreases(groups.Select(g => (g.Hosts, Dev: g.Load / g.Hosts - mean, Steps: (IEnumerable<double>)g.Leaving.OrderDescending())));
        var under = Decreases(groups.Select(g => (g.Hosts, Dev: mean - g.Load / g.Hosts, Steps: Arrivals(mean - g.Load / g.Hosts, g.Hosts, arriving))));
        var remaining = groups.Sum(g => g.Hosts * Math.Pow(g.Load / g.Hosts - mean, 2));
        var budget = hosts * threshold * threshold + 1e-12;
        for (var m = 0; ; m++)
        {
            if (remaining <= budget || (m >= over.Count && m >= under.Count))
                return m;
            remaining -= (m < over.Count ? over[m] : 0) + (m < under.Count ? under[m] : 0);
        }
    }

    /// <summary>Arrivals of the busiest movable VM, enough to fill a group's deviation below the mean.</summary>
    private static IEnumerable<double> Arrivals(double dev, int hosts, double load) =>
        dev <= 0 || load <= 0 ? [] : Enumerable.Repeat(load, (int)Math.Ceiling(dev * hosts / load));

    /// <summary>
    /// The decreases of the summed n_g D_g^2 from taking each step off its group's deviation (in the group's order,
    /// never below 0), largest first. Per group they shrink step by step (convex), so sorting them all is the greedy merge.
    /// </summary>
    private static List<double> Decreases(IEnumerable<(int Hosts, double Dev, IEnumerable<double> Steps)> groups)
    {
        var all = new List<double>();
        foreach (var (hosts, dev, steps) in groups)
        {
            var d = dev;
            foreach (var s in steps)
            {
                if (d <= 0)
                    break;
                var next = Math.Max(0, d - s / hosts);
                all.Add(hosts * (d * d - next * next));
                d = next;
            }
        }
        return [.. all.OrderDescending()];
    }
}
