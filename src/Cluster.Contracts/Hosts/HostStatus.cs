using MessagePack;

namespace Cluster.Contracts.Hosts;

/// <summary>
/// What one host offers and carries, as its HostAgent advertises it every few seconds.
/// </summary>
/// <param name="Host">The host's cluster address ("host:port").</param>
/// <param name="Vcpus">Physical vCPU capacity (before the overcommit ratio).</param>
/// <param name="MemoryBytes">Memory capacity for guests.</param>
/// <param name="Labels">The host's labels (for example zone=a, ssd=true).</param>
/// <param name="CpuVendor">The CPU vendor guests see.</param>
/// <param name="CpuFeatures">The CPU features guests see.</param>
/// <param name="Vms">The VMs placed here (running or not), with their sizes.</param>
/// <param name="RunningVms">How many of them run.</param>
/// <param name="GuestCpuSeconds">Guest CPU time consumed by the running VMs in the last refresh period, per second (a load of 1.0 is one busy vCPU).</param>
/// <param name="MemoryInUseBytes">Guest memory mapped by running VMs.</param>
/// <param name="At">When this status was measured (UTC).</param>
[MessagePackObject]
public sealed record HostStatus(
    [property: Key(0)] string Host,
    [property: Key(1)] int Vcpus,
    [property: Key(2)] ulong MemoryBytes,
    [property: Key(3)] IReadOnlyDictionary<string, string> Labels,
    [property: Key(4)] string CpuVendor,
    [property: Key(5)] IReadOnlyList<string> CpuFeatures,
    [property: Key(6)] IReadOnlyList<PlacedVm> Vms,
    [property: Key(7)] int RunningVms,
    [property: Key(8)] double GuestCpuSeconds,
    [property: Key(9)] ulong MemoryInUseBytes,
    [property: Key(10)] DateTime At) : IClusterMessage
{
    /// <summary>
    /// What this host sees at the disk paths of the cluster's VMs (every path the placement decisions it knows name),
    /// looked at each refresh; placement runs a VM with disks only on a host that sees each of its files. Key 11,
    /// empty from a host that predates disks.
    /// </summary>
    [Key(11)]
    public IReadOnlyList<DiskSeen> Disks { get; init; } = [];

    /// <summary>
    /// The disk and network traffic of every guest that ran on this host since its agent started (each guest's counters
    /// added as they grew; a guest that restarts or leaves takes nothing back), so it only goes down when the host's node
    /// restarts. Key 12, null from a host that predates it.
    /// </summary>
    [Key(12)]
    public IoTotals? Io { get; init; }
}

/// <summary>
/// Cumulative disk and network counters (of one VM's run, or of a host), as its VMM counts them: bytes and requests read
/// from and written to its virtio-blk disks, bytes and frames received and sent by its virtio-net NICs. Data inside
/// <see cref="HostStatus"/> and <see cref="PlacedVm"/>, never a message of its own.
/// </summary>
[MessagePackObject]
public sealed record IoTotals(
    [property: Key(0)] long DiskReadBytes,
    [property: Key(1)] long DiskWriteBytes,
    [property: Key(2)] long DiskReadOps,
    [property: Key(3)] long DiskWriteOps,
    [property: Key(4)] long NetRxBytes,
    [property: Key(5)] long NetTxBytes,
    [property: Key(6)] long NetRxPackets,
    [property: Key(7)] long NetTxPackets)
{
    /// <summary>No traffic.</summary>
    public static IoTotals Zero { get; } = new(0, 0, 0, 0, 0, 0, 0, 0);

    /// <summary>The sum of two totals.</summary>
    public static IoTotals operator +(IoTotals a, IoTotals b) => new(
        a.DiskReadBytes + b.DiskReadBytes, a.DiskWriteBytes + b.DiskWriteBytes, a.DiskReadOps + b.DiskReadOps, a.DiskWriteOps + b.DiskWriteOps,
        a.NetRxBytes + b.NetRxBytes, a.NetTxBytes + b.NetTxBytes, a.NetRxPackets + b.NetRxPackets, a.NetTxPackets + b.NetTxPackets);

    /// <summary>What <paramref name="now"/> counted beyond <paramref name="before"/>, counter by counter; a counter that went
    /// back (its guest restarted) counts from zero, so the growth is never negative.</summary>
    public static IoTotals Growth(IoTotals before, IoTotals now)
    {
        static long Grew(long b, long n) => n >= b ? n - b : n;
        return new(Grew(before.DiskReadBytes, now.DiskReadBytes), Grew(before.DiskWriteBytes, now.DiskWriteBytes),
            Grew(before.DiskReadOps, now.DiskReadOps), Grew(before.DiskWriteOps, now.DiskWriteOps),
            Grew(before.NetRxBytes, now.NetRxBytes), Grew(before.NetTxBytes, now.NetTxBytes),
            Grew(before.NetRxPackets, now.NetRxPackets), Grew(before.NetTxPackets, now.NetTxPackets));
    }
}

/// <summary>What one host sees at a disk path: whether a file is there, and its identity (null when it has none yet).</summary>
[MessagePackObject]
public sealed record DiskSeen([property: Key(0)] string Path, [property: Key(1)] bool Exists, [property: Key(2)] string? Identity) : IClusterMessage;

/// <summary>To a host's agent: look at these disk paths now; answered with <see cref="DisksSeen"/>.</summary>
[MessagePackObject]
public sealed record CheckDisks([property: Key(0)] IReadOnlyList<string> Paths) : IClusterMessage;

/// <summary>What <paramref name="Host"/> sees at the paths of a <see cref="CheckDisks"/>, in the same order.</summary>
[MessagePackObject]
public sealed record DisksSeen([property: Key(0)] string Host, [property: Key(1)] IReadOnlyList<DiskSeen> Disks) : Replies.IVmReply;

/// <summary>A VM's claim on a host's resources.</summary>
/// <param name="VmId">The VM.</param>
/// <param name="Vcpus">Its vCPUs.</param>
/// <param name="MemoryBytes">Its memory.</param>
/// <param name="AntiAffinityGroup">Its anti-affinity group, or null.</param>
/// <param name="CpuLoad">CPU seconds per second it used in the last refresh period (0 when not running): its VMM worker's, from
/// the worker's cgroup, where it has one; else its vCPUs' guest time.</param>
/// <param name="MemoryUsedBytes">The memory its VMM worker holds now, from the worker's cgroup (working set: charged less the
/// inactive file cache; guest RAM touched plus the worker's own), or null where it has no cgroup or does not run. Key 5,
/// null from a host that predates it.</param>
/// <param name="Io">Its disk and network counters since its guest started on this host (they start again from zero when it
/// restarts or arrives by migration), or null where it does not run here or its host predates them. Key 6.</param>
[MessagePackObject]
public sealed record PlacedVm(
    [property: Key(0)] string VmId,
    [property: Key(1)] int Vcpus,
    [property: Key(2)] ulong MemoryBytes,
    [property: Key(3)] string? AntiAffinityGroup,
    [property: Key(4)] double CpuLoad = 0,
    [property: Key(5)] ulong? MemoryUsedBytes = null,
    [property: Key(6)] IoTotals? Io = null) : IClusterMessage;
