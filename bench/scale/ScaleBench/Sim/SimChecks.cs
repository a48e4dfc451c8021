using Cluster.Actors.Placement;

namespace ScaleBench.Sim;

/// <summary>The invariants of a simulated cluster: every VM runs once, and every host keeps every placement rule.</summary>
public static class SimChecks
{
    /// <summary>What is wrong, one line each; empty when nothing is.</summary>
    public static List<string> Problems(SimCluster cluster, PlacementSettings settings, IReadOnlySet<string>? down = null)
    {
        var problems = new List<string>();
        foreach (var spec in cluster.Specs.Where(s => cluster.HostOf(s.Id) is null && down?.Contains(s.Id) != true))
            problems.Add($"{spec.Id} runs nowhere");
        for (var i = 0; i < cluster.Hosts.Count; i++)
        {
            var host = cluster.Hosts[i];
            var specs = cluster.VmsOn(host).Select(v => cluster.SpecOf[v]).ToList();
            var vcpus = specs.Sum(s => s.Vcpus);
            if (vcpus > cluster.Shape.HostVcpus * settings.VcpuOvercommit)
                problems.Add($"{host}: {vcpus} vCPUs placed, over {cluster.Shape.HostVcpus} x {settings.VcpuOvercommit}");
            var memory = specs.Aggregate(0UL, (sum, s) => sum + s.MemoryBytes);
            if (memory > cluster.Shape.HostMemory * settings.MemoryOvercommit)
                problems.Add($"{host}: {memory} bytes placed, over {cluster.Shape.HostMemory} x {settings.MemoryOvercommit}");
            foreach (var g in specs.Where(s => s.AntiAffinityGroup is not null).GroupBy(s => s.AntiAffinityGroup).Where(g => g.Count() > 1))
                problems.Add($"{host}: {g.Count()} VMs of anti-affinity group {g.Key}");
            foreach (var s in specs.Where(s => s.Labels.TryGetValue(Placer.RequirePrefix + "zone", out var z) && z != SimCluster.ZoneOf(i)))
                problems.Add($"{host}: {s.Id} requires {s.Labels[Placer.RequirePrefix + "zone"]}, the host is in {SimCluster.ZoneOf(i)}");
        }
        return problems;
    }

    /// <summary>The population standard deviation of the host loads (guest CPU load / vCPUs), as the rebalancer measures it.</summary>
    public static double Imbalance(SimCluster cluster, IEnumerable<string> hosts)
    {
        var loads = hosts.Select(h => cluster.VmsOn(h).Sum(cluster.CpuLoad) / cluster.Shape.HostVcpus).ToList();
        var mean = loads.Average();
        return Math.Sqrt(loads.Sum(l => (l - mean) * (l - mean)) / loads.Count);
    }

    /// <summary>The move lower bound: the larger of the bound over single hosts (any VM may leave) and over the zones (only VMs that require no zone may leave theirs).</summary>
    public static int LeastMoves(SimCluster cluster, double threshold)
    {
        var v = (double)cluster.Shape.HostVcpus;
        var zone = Placer.RequirePrefix + "zone";
        double Load(string vm) => cluster.CpuLoad(vm) / v;
        var byHost = cluster.Hosts.Select(h => new MoveLowerBound.Group(1, cluster.VmsOn(h).Sum(Load), [.. cluster.VmsOn(h).Select(Load)])).ToList();
        var byZone = cluster.Hosts.Select((h, i) => (Host: h, Zone: SimCluster.ZoneOf(i))).GroupBy(x => x.Zone)
            .Select(z => new MoveLowerBound.Group(z.Count(), z.Sum(x => cluster.VmsOn(x.Host).Sum(Load)),
                [.. z.SelectMany(x => cluster.VmsOn(x.Host)).Where(vm => !cluster.SpecOf[vm].Labels.ContainsKey(zone)).Select(Load)]))
            .ToList();
        return Math.Max(MoveLowerBound.Of(byHost, cluster.Hosts.Count, threshold), MoveLowerBound.Of(byZone, cluster.Hosts.Count, threshold));
    }
}
