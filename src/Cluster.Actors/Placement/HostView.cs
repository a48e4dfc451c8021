using Cluster.Contracts.Hosts;

namespace Cluster.Actors.Placement;

/// <summary>A host as placement sees it: capacity, labels and the VMs that hold its resources.</summary>
/// <param name="Host">Its address ("host:port").</param>
/// <param name="Vcpus">Physical vCPUs.</param>
/// <param name="MemoryBytes">Memory for guests.</param>
/// <param name="Labels">Its labels.</param>
/// <param name="Vms">The VMs placed on it (reported or just decided).</param>
/// <param name="Unschedulable">Whether it is drained: it keeps its VMs but takes no new ones.</param>
public sealed record HostView(
    string Host, int Vcpus, ulong MemoryBytes, IReadOnlyDictionary<string, string> Labels, IReadOnlyList<PlacedVm> Vms,
    bool Unschedulable = false)
{
    /// <summary>What it sees at disk paths (from its status, or asked just now), by path; a path it has not reported on is absent.</summary>
    public IReadOnlyDictionary<string, DiskSeen> Disks { get; init; } = new Dictionary<string, DiskSeen>(StringComparer.Ordinal);

    /// <summary>This view with <paramref name="seen"/> replacing what it knew of those paths.</summary>
    public HostView Seeing(IEnumerable<DiskSeen> seen)
    {
        var disks = new Dictionary<string, DiskSeen>(Disks, StringComparer.Ordinal);
        foreach (var d in seen)
            disks[d.Path] = d;
        return this with { Disks = disks };
    }

    /// <summary>vCPUs taken, not counting <paramref name="except"/> (a VM being placed again).</summary>
    public int UsedVcpus(string except) => Vms.Where(v => v.VmId != except).Sum(v => v.Vcpus);

    /// <summary>Memory taken, not counting <paramref name="except"/>.</summary>
    public ulong UsedMemory(string except) => Vms.Where(v => v.VmId != except).Aggregate(0UL, (sum, v) => sum + v.MemoryBytes);
}
