using Cluster.Vmm.Storage;

namespace Cluster.Vmm.Machine;

/// <summary>
/// One disk of a machine, in the order the guest sees them (the first is /dev/vda under Linux).
/// <paramref name="Format"/> null means: read it from the file's header.
/// <paramref name="Serial"/> is what VIRTIO_BLK_T_GET_ID returns (at most 20 bytes); null gives "vdN".
/// </summary>
public sealed record DiskConfig(
    string Path,
    DiskFormat? Format = null,
    bool ReadOnly = false,
    DiskCacheMode Cache = DiskCacheMode.Writeback,
    string? Serial = null);
