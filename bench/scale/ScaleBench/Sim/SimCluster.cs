using Cluster.Actors.Placement;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Vms;

namespace ScaleBench.Sim;

/// <summary>
/// The simulated hosts and guests, in one process: each host reports a <see cref="HostStatus"/> (its VMs with their
/// CPU load) to a real <see cref="PlacementBoard"/>, the picture the scheduler, the allocation strategy and the
/// rebalancer read. A guest is its spec, its utilisation (share of its vCPUs it keeps busy) and the host it runs on.
/// </summary>
public sealed class SimCluster
{
    private readonly Dictionary<string, List<string>> _vmsOn = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _hostOf = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _utilisation = new(StringComparer.Ordinal);
    private readonly HashSet<string> _failed = new(StringComparer.Ordinal);
    private int _grouped;

    public SimCluster(SimShape shape)
    {
        Shape = shape;
        var random = new Random(shape.Seed);
        Hosts = [.. Enumerable.Range(0, shape.Hosts).Select(SimShape.HostName)];
        foreach (var h in Hosts)
            _vmsOn[h] = [];
        Specs = [.. Enumerable.Range(0, shape.Vms).Select(i => NewSpec(i, random))];
        SpecOf = Specs.ToDictionary(s => s.Id, StringComparer.Ordinal);
        foreach (var spec in Specs)
            _utilisation[spec.Id] = Math.Clamp(Math.Exp(-1.6 + 0.7 * Normal(random)), 0.02, 1.0);
        // A board that never forgets a host between two reports of the simulation, however slow the machine.
        Board = new PlacementBoard { StaleAfter = TimeSpan.FromHours(1) };
    }

    public SimShape Shape { get; }

    public PlacementBoard Board { get; }

    public IReadOnlyList<string> Hosts { get; }

    /// <summary>Every VM to create, in creation order.</summary>
    public IReadOnlyList<VmSpec> Specs { get; }

    public IReadOnlyDictionary<string, VmSpec> SpecOf { get; }

    public IReadOnlyList<string> VmsOn(string host) => _vmsOn[host];

    public string? HostOf(string vm) => _hostOf.GetValueOrDefault(vm);

    /// <summary>The zone of host <paramref name="host"/>.</summary>
    public static string ZoneOf(int host) => $"z{host % SimShape.Zones}";

    /// <summary>Guest CPU seconds per second <paramref name="vm"/> uses.</summary>
    public double CpuLoad(string vm) => SpecOf[vm].Vcpus * _utilisation[vm];

    /// <summary>Starts <paramref name="vm"/> on <paramref name="host"/> (after a placement, a migration or a restart).</summary>
    public void Run(string vm, string host)
    {
        if (_hostOf.TryGetValue(vm, out var old))
            _vmsOn[old].Remove(vm);
        _hostOf[vm] = host;
        _vmsOn[host].Add(vm);
    }

    /// <summary>
    /// The load shift the rebalancer must answer: the VMs that require zone z0 (one tenant) become busy, 90% of their
    /// vCPUs, so the z0 hosts carry more than the rest.
    /// </summary>
    public void HotTenant()
    {
        foreach (var spec in Specs.Where(s => s.Labels.TryGetValue(Placer.RequirePrefix + "zone", out var z) && z == "z0"))
            _utilisation[spec.Id] = 0.9;
    }

    /// <summary>Takes <paramref name="host"/> away (it crashed): it reports no more and its VMs are down.</summary>
    public IReadOnlyList<string> Fail(string host)
    {
        _failed.Add(host);
        Board.RemoveHost(host);
        var vms = _vmsOn[host].ToList();
        foreach (var vm in vms)
            _hostOf.Remove(vm);
        _vmsOn[host].Clear();
        return vms;
    }

    /// <summary>Every live host reports its status, as each HostAgent does every refresh period.</summary>
    public void ReportAll()
    {
        var now = DateTime.UtcNow;
        for (var i = 0; i < Hosts.Count; i++)
        {
            var host = Hosts[i];
            if (_failed.Contains(host))
                continue;
            var vms = _vmsOn[host].Select(id => SpecOf[id])
                .Select(s => new PlacedVm(s.Id, s.Vcpus, s.MemoryBytes, s.AntiAffinityGroup, CpuLoad(s.Id))).ToList();
            Board.Report(new HostStatus(host, Shape.HostVcpus, Shape.HostMemory,
                new Dictionary<string, string>(StringComparer.Ordinal) { ["zone"] = ZoneOf(i) }, "sim", [], vms, vms.Count,
                vms.Sum(v => v.CpuLoad), vms.Aggregate(0UL, (sum, v) => sum + v.MemoryBytes), now));
        }
    }

    private VmSpec NewSpec(int i, Random random)
    {
        var roll = random.NextDouble();
        var vcpus = roll < 0.5 ? 1 : roll < 0.8 ? 2 : roll < 0.95 ? 4 : 8;
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (random.NextDouble() < SimShape.ZonedShare)
            labels[Placer.RequirePrefix + "zone"] = $"z{random.Next(SimShape.Zones)}";
        var group = random.NextDouble() < SimShape.GroupedShare ? $"g{_grouped++ / 3}" : null;
        return new VmSpec($"vm-{i:D5}", $"vm-{i:D5}", vcpus, (ulong)vcpus * 2 * SimShape.GiB, new BuiltInImage("counter"), [], labels, group,
            RestartPolicy.Never, Priority: random.Next(3));
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
