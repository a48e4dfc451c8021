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
    string? Serial = null)
{
    /// <summary>The disk's files already open (passed by a node to its worker): the image and its backing chain are then
    /// opened over these descriptors, never by path. Not part of the config's value on the wire: the worker protocol
    /// carries the descriptors beside it. The caller owns them and keeps them open while the machine lives.</summary>
    public DiskFiles? Files { get; init; }
}
