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
/// <param name="CpuLoad">Guest CPU seconds per second it used in the last refresh period (0 when not running).</param>
[MessagePackObject]
public sealed record PlacedVm(
    [property: Key(0)] string VmId,
    [property: Key(1)] int Vcpus,
    [property: Key(2)] ulong MemoryBytes,
    [property: Key(3)] string? AntiAffinityGroup,
    [property: Key(4)] double CpuLoad = 0) : IClusterMessage;
