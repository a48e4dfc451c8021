using Cluster.Actors.Placement;
using Cluster.Contracts.Hosts;

namespace Cluster.Actors.Rebalancing;

/// <summary>
/// The planner's working copy of the cluster: which VM is on which host, updated as moves are planned.
/// A host's load is its guest CPU load divided by its vCPUs; the imbalance is the population standard
/// deviation of the loads of the schedulable hosts (draining hosts are being emptied and do not count).
/// </summary>
internal sealed class RebalanceWorld
{
    private readonly Dictionary<string, PlannerHost> _hosts;
    private readonly Dictionary<string, List<PlannerVm>> _vms;

    public RebalanceWorld(IEnumerable<PlannerHost> hosts, IEnumerable<PendingMove> pending)
    {
        _hosts = hosts.ToDictionary(h => h.Host, StringComparer.Ordinal);
        _vms = _hosts.Values.ToDictionary(h => h.Host, h => h.Vms.ToList(), StringComparer.Ordinal);
        foreach (var move in pending)
        {
            if (VmOn(move.From, move.VmId) is { } vm && _hosts.ContainsKey(move.To))
                Move(vm, move.From, move.To);
        }
    }

    /// <summary>Every host, ordered by address.</summary>
    public IEnumerable<PlannerHost> Hosts => _hosts.Values.OrderBy(h => h.Host, StringComparer.Ordinal);

    public PlannerHost Host(string host) => _hosts[host];

    public IReadOnlyList<PlannerVm> VmsOn(string host) => _vms[host];

    public double Load(string host) => Load(host, 0);

    public IReadOnlyDictionary<string, double> Loads() => Hosts.ToDictionary(h => h.Host, h => Load(h.Host), StringComparer.Ordinal);

    public double Imbalance() => Imbalance(h => Load(h));

    /// <summary>The imbalance if <paramref name="vm"/> went from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public double ImbalanceIf(PlannerVm vm, string from, string to) =>
        Imbalance(h => h == from ? Load(h, -vm.CpuLoad) : h == to ? Load(h, vm.CpuLoad) : Load(h));

    /// <summary>The load of <paramref name="host"/> with <paramref name="extra"/> guest CPU load added.</summary>
    public double Load(string host, double extra)
    {
        var h = _hosts[host];
        return h.Vcpus <= 0 ? 0 : (_vms[host].Sum(v => v.CpuLoad) + extra) / h.Vcpus;
    }

    public void Move(PlannerVm vm, string from, string to)
    {
        _vms[from].RemoveAll(v => v.VmId == vm.VmId);
        _vms[to].Add(vm);
    }

    /// <summary>The host as the <see cref="Placer"/> sees it (draining hosts are unschedulable).</summary>
    public HostView View(string host)
    {
        var h = _hosts[host];
        return new HostView(h.Host, h.Vcpus, h.MemoryBytes, h.Labels,
            [.. _vms[host].Select(v => new PlacedVm(v.VmId, v.Vcpus, v.MemoryBytes, v.AntiAffinityGroup, v.CpuLoad))], h.Draining);
    }

    private PlannerVm? VmOn(string host, string vmId) =>
        _vms.TryGetValue(host, out var vms) ? vms.FirstOrDefault(v => v.VmId == vmId) : null;

    private double Imbalance(Func<string, double> load)
    {
        var loads = _hosts.Values.Where(h => !h.Draining && h.Vcpus > 0).Select(h => load(h.Host)).ToList();
        if (loads.Count < 2)
            return 0;
        var mean = loads.Average();
        return Math.Sqrt(loads.Sum(l => (l - mean) * (l - mean)) / loads.Count);
    }
}
