using Cluster.Actors.Placement;
using Cluster.Contracts.Hosts;

namespace Cluster.Actors.Rebalancing;

/// <summary>
/// The planner's working copy of the cluster: which VM is on which host, updated as moves are planned.
/// A host's load is its guest CPU load divided by its vCPUs; the imbalance is the population standard
/// deviation of the loads of the schedulable hosts (draining hosts are being emptied and do not count).
/// The sums behind the imbalance are kept up to date, so the imbalance after a candidate move costs O(1).
/// </summary>
internal sealed class RebalanceWorld
{
    private readonly Dictionary<string, PlannerHost> _hosts;
    private readonly Dictionary<string, List<PlannerVm>> _vms;
    private readonly Dictionary<string, double> _cpu;
    private readonly Dictionary<string, HostView> _views = new(StringComparer.Ordinal);
    private int _counted;
    private double _sum;
    private double _sumOfSquares;

    public RebalanceWorld(IEnumerable<PlannerHost> hosts, IEnumerable<PendingMove> pending)
    {
        _hosts = hosts.ToDictionary(h => h.Host, StringComparer.Ordinal);
        _vms = _hosts.Values.ToDictionary(h => h.Host, h => h.Vms.ToList(), StringComparer.Ordinal);
        _cpu = _vms.ToDictionary(v => v.Key, v => v.Value.Sum(vm => vm.CpuLoad), StringComparer.Ordinal);
        Recount();
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

    public double Imbalance() => Deviation(_sum, _sumOfSquares);

    /// <summary>The imbalance if <paramref name="vm"/> went from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public double ImbalanceIf(PlannerVm vm, string from, string to)
    {
        var (sum, squares) = Shift(from, -vm.CpuLoad, _sum, _sumOfSquares);
        (sum, squares) = Shift(to, vm.CpuLoad, sum, squares);
        return Deviation(sum, squares);
    }

    /// <summary>
    /// The figures of <paramref name="hosts"/> (in that order) for scanning candidate moves; <paramref name="open"/>: whether a
    /// host may take a move now; <paramref name="sets"/>: the target sets (see <see cref="CandidateScan"/>), null for one of every host.
    /// </summary>
    public CandidateScan Scan(IReadOnlyList<string> hosts, Func<string, bool> open, IReadOnlyList<bool[]>? sets = null) => new(
        [.. hosts.Select(h => _cpu[h])], [.. hosts.Select(h => _hosts[h].Vcpus)], [.. hosts.Select(h => Counts(_hosts[h]))],
        [.. hosts.Select(open)], (_counted, _sum, _sumOfSquares), sets);

    /// <summary>The load of <paramref name="host"/> with <paramref name="extra"/> guest CPU load added.</summary>
    public double Load(string host, double extra)
    {
        var h = _hosts[host];
        return h.Vcpus <= 0 ? 0 : (_cpu[host] + extra) / h.Vcpus;
    }

    public void Move(PlannerVm vm, string from, string to)
    {
        _vms[from].RemoveAll(v => v.VmId == vm.VmId);
        _vms[to].Add(vm);
        _cpu[from] -= vm.CpuLoad;
        _cpu[to] += vm.CpuLoad;
        _views.Remove(from);
        _views.Remove(to);
        Recount();
    }

    /// <summary>The host as the <see cref="Placer"/> sees it (draining hosts are unschedulable), built again only after a move changed it.</summary>
    public HostView View(string host)
    {
        if (!_views.TryGetValue(host, out var view))
            _views[host] = view = NewView(host);
        return view;
    }

    private HostView NewView(string host)
    {
        var h = _hosts[host];
        return new HostView(h.Host, h.Vcpus, h.MemoryBytes, h.Labels,
            [.. _vms[host].Select(v => new PlacedVm(v.VmId, v.Vcpus, v.MemoryBytes, v.AntiAffinityGroup, v.CpuLoad, v.MemoryUsedBytes))], h.Draining)
        {
            Disks = h.Disks ?? new Dictionary<string, DiskSeen>(StringComparer.Ordinal),
        };
    }

    private PlannerVm? VmOn(string host, string vmId) =>
        _vms.TryGetValue(host, out var vms) ? vms.FirstOrDefault(v => v.VmId == vmId) : null;

    /// <summary>The sums with <paramref name="delta"/> guest CPU load added to <paramref name="host"/>.</summary>
    private (double Sum, double Squares) Shift(string host, double delta, double sum, double squares)
    {
        if (!Counts(_hosts[host]))
            return (sum, squares);
        var (before, after) = (Load(host), Load(host, delta));
        return (sum + after - before, squares + after * after - before * before);
    }

    private static bool Counts(PlannerHost h) => !h.Draining && h.Vcpus > 0;

    /// <summary>Recomputes the sums from scratch (after a move), so rounding errors do not pile up.</summary>
    private void Recount()
    {
        var loads = _hosts.Values.Where(Counts).Select(h => Load(h.Host)).ToList();
        (_counted, _sum, _sumOfSquares) = (loads.Count, loads.Sum(), loads.Sum(l => l * l));
    }

    /// <summary>The population standard deviation from the sums (0 with fewer than two hosts).</summary>
    private double Deviation(double sum, double squares)
    {
        if (_counted < 2)
            return 0;
        var mean = sum / _counted;
        return Math.Sqrt(Math.Max(0, squares / _counted - mean * mean));
    }
}
