using MessagePack;

namespace Cluster.Contracts.Vms;

/// <summary>The format of a disk image (Contracts' own names; the VMM has its own enum).</summary>
public enum DiskImageFormat
{
    /// <summary>A flat file, one byte per byte of the disk.</summary>
    Raw = 0,
    /// <summary>QEMU's copy-on-write format, version 3.</summary>
    Qcow2 = 1,
}

/// <summary>How the VMM caches a disk's writes in the host.</summary>
public enum DiskCache
{
    /// <summary>Through the host's page cache; a guest FLUSH syncs the file.</summary>
    Writeback = 0,
    /// <summary>Around the host's page cache (O_DIRECT).</summary>
    None = 1,
}

/// <summary>
/// A virtio-blk disk of a VM: an image file that every host running the VM sees at <paramref name="Path"/>
/// (shared storage). Written on the command line as <c>path=IMG[,format=raw|qcow2][,readonly][,cache=none|writeback][,serial=S]</c>
/// (<see cref="Validation.DiskSpecText"/>), checked by <see cref="Validation.VmSpecValidator"/>.
/// </summary>
/// <param name="Path">Absolute path of the image, the same on every host.</param>
/// <param name="Format">The image format, or null to probe the file's header.</param>
/// <param name="ReadOnly">Whether the guest sees a read-only disk.</param>
/// <param name="Cache">The host cache mode.</param>
/// <param name="Serial">The serial number the guest reads (GET_ID), at most 20 ASCII bytes; null for none.</param>
/// <param name="Identity">
/// The identity of the file the VM first started on (the UUID kept beside the image, <c>IMG.cluster-id</c>); null
/// until then. Never given by users: the VM's journal records it (<c>VmDisksBound</c>), and a host whose file at
/// <paramref name="Path"/> carries another identity is a namesake that the VM never runs on.
/// </param>
[MessagePackObject]
public sealed record DiskSpec(
    [property: Key(0)] string Path,
    [property: Key(1)] DiskImageFormat? Format = null,
    [property: Key(2)] bool ReadOnly = false,
    [property: Key(3)] DiskCache Cache = DiskCache.Writeback,
    [property: Key(4)] string? Serial = null,
    [property: Key(5)] string? Identity = null) : IClusterMessage
{
    /// <summary>The spec as the command line writes it (identity left out).</summary>
    public string Describe() => Validation.DiskSpecText.Format(this);
}
