using Cluster.Contracts.Hosts;
using Cluster.Contracts.Replies;

namespace Cluster.Node.Http.History;

/// <summary>
/// The figures of the last hour per host and per VM, one <see cref="SeriesRing"/> each, fed by the sampler's answers
/// to ListHosts and ListVms. Per host: guest CPU load (CPU seconds per second), vCPUs offered, guest memory in use and
/// offered, VMs placed and running, and disk and network bytes per second of all its guests (<see cref="IoRates"/>, from
/// <see cref="HostStatus.Io"/>). Per VM: CPU load, working set and disk and network bytes per second (from its host's
/// report, <see cref="PlacedVm.Io"/>; none on a standalone node, which lists no hosts) and its memory size. A VM or host
/// missing from an answer is forgotten with its series: memory stays bounded by the cluster's size times <see cref="Capacity"/>.
/// </summary>
public sealed class HistoryBook(int capacity = HistoryBook.DefaultCapacity)
{
    /// <summary>An hour of samples at one every 10 s.</summary>
    public const int DefaultCapacity = 360;

    public static readonly IReadOnlyList<string> HostSeries = ["cpu", "vcpus", "memoryInUse", "memoryCapacity", "vms", "runningVms", .. IoRates.Names];
    public static readonly IReadOnlyList<string> VmSeries = ["cpu", "memoryInUse", "memory", .. IoRates.Names];

    private readonly Dictionary<string, SeriesRing> _hosts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SeriesRing> _vms = new(StringComparer.Ordinal);
    private readonly IoRates _hostRates = new(), _vmRates = new();

    public int Capacity { get; } = capacity;

    /// <summary>How many series rings are kept (hosts plus VMs).</summary>
    public int Rings => _hosts.Count + _vms.Count;

    /// <summary>Records one sample of every host and VM in the answers taken at <paramref name="at"/>.</summary>
    public void Record(DateTime at, IReadOnlyList<HostStatus> hosts, IReadOnlyList<VmInfo> vms)
    {
        var ms = new DateTimeOffset(at.ToUniversalTime()).ToUnixTimeMilliseconds();
        var placed = new Dictionary<string, (PlacedVm Vm, string Host)>(StringComparer.Ordinal);
        foreach (var h in hosts)
        {
            Ring(_hosts, h.Host, HostSeries).Add(ms,
                [h.GuestCpuSeconds, h.Vcpus, h.MemoryInUseBytes, h.MemoryBytes, h.Vms.Count, h.RunningVms, .. _hostRates.Next(h.Host, h.Host, ms, h.Io)]);
            foreach (var v in h.Vms)
                placed[v.VmId] = (v, h.Host);
        }
        foreach (var v in vms)
        {
            var (p, host) = placed.GetValueOrDefault(v.VmId);
            Ring(_vms, v.VmId, VmSeries).Add(ms, [p?.CpuLoad ?? double.NaN, p?.MemoryUsedBytes is { } used ? used : double.NaN, v.Spec.MemoryBytes,
                .. _vmRates.Next(v.VmId, host ?? "", ms, p?.Io)]);
        }
        Forget(_hosts, hosts.Select(h => h.Host));
        Forget(_vms, vms.Select(v => v.VmId));
        _hostRates.KeepOnly(_hosts.Keys);
        _vmRates.KeepOnly(_vms.Keys);
    }

    /// <summary>The series of a host, or null when it is not known.</summary>
    public SeriesRing? Host(string host) => _hosts.GetValueOrDefault(host);

    /// <summary>The series of a VM, or null when it is not known (never sampled, or deleted).</summary>
    public SeriesRing? Vm(string id) => _vms.GetValueOrDefault(id);

    private SeriesRing Ring(Dictionary<string, SeriesRing> rings, string key, IReadOnlyList<string> names)
    {
        if (!rings.TryGetValue(key, out var ring))
            rings[key] = ring = new SeriesRing(names, Capacity);
        return ring;
    }

    private static void Forget(Dictionary<string, SeriesRing> rings, IEnumerable<string> present)
    {
        var keep = present.ToHashSet(StringComparer.Ordinal);
        foreach (var gone in rings.Keys.Where(k => !keep.Contains(k)).ToList())
            rings.Remove(gone);
    }
}
