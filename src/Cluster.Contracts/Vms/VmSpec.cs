using MessagePack;

namespace Cluster.Contracts.Vms;

/// <summary>
/// What a VM is: its identity, size, guest image and how it is restarted. Checked by
/// <see cref="Validation.VmSpecValidator"/> at the boundary, then persisted as is.
/// </summary>
/// <param name="Id">Stable id: lower-case letters, digits and '-', at most 63 characters.</param>
/// <param name="Name">Human-readable name.</param>
/// <param name="Vcpus">Number of virtual CPUs.</param>
/// <param name="MemoryBytes">Guest RAM in bytes (a multiple of 4 KiB).</param>
/// <param name="Image">The guest to boot.</param>
/// <param name="Args">Arguments handed to the guest.</param>
/// <param name="Labels">Free labels, used by placement.</param>
/// <param name="AntiAffinityGroup">VMs of one group avoid sharing a host; null for none.</param>
/// <param name="Restart">What to do when the guest crashes or exits.</param>
/// <param name="Priority">HA restart priority: when a host fails, its VMs restart elsewhere highest first (default 0).</param>
/// <remarks>
/// Persisted in <c>VmDefined</c> and snapshots: a key added later must have a default, so journals written before it still
/// read (<see cref="Disks"/>, key 10, and <see cref="Nics"/>, key 11, are empty when absent).
/// </remarks>
[MessagePackObject]
public sealed record VmSpec(
    [property: Key(0)] string Id,
    [property: Key(1)] string Name,
    [property: Key(2)] int Vcpus,
    [property: Key(3)] ulong MemoryBytes,
    [property: Key(4)] GuestImageSpec Image,
    [property: Key(5)] IReadOnlyList<string> Args,
    [property: Key(6)] IReadOnlyDictionary<string, string> Labels,
    [property: Key(7)] string? AntiAffinityGroup,
    [property: Key(8)] RestartPolicy Restart,
    [property: Key(9)] int Priority = 0) : IClusterMessage
{
    /// <summary>The VM's virtio-blk disks, in the order the guest sees them (vda, vdb, ...); empty when it has none.</summary>
    [Key(10)]
    public IReadOnlyList<DiskSpec> Disks { get; init; } = [];

    /// <summary>
    /// The VM's virtio-net NICs, in the order the guest sees them; empty when it has none. Persisted with the MAC and
    /// address the cluster assigned at create time, so they stay the VM's across restarts, migrations and HA restarts.
    /// </summary>
    [Key(11)]
    public IReadOnlyList<Networks.NicSpec> Nics { get; init; } = [];
}
