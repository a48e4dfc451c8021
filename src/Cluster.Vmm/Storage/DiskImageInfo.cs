namespace Cluster.Vmm.Storage;

/// <summary>What an image is: its format, sizes and backing chain (as qemu-img info shows them).</summary>
/// <param name="Path">The file.</param>
/// <param name="Format">Its format.</param>
/// <param name="VirtualSize">The size the guest sees.</param>
/// <param name="FileLength">The file's length.</param>
/// <param name="AllocatedBytes">Bytes the file occupies on disk (holes excluded).</param>
/// <param name="ClusterSize">qcow2: the cluster size; raw: null.</param>
/// <param name="BackingFile">qcow2: the backing file as the header names it, or null.</param>
/// <param name="Snapshots">qcow2: the names of the internal snapshots.</param>
/// <param name="Backing">The backing image's own information, or null.</param>
public sealed record DiskImageInfo(
    string Path, DiskFormat Format, ulong VirtualSize, long FileLength, long AllocatedBytes, int? ClusterSize,
    string? BackingFile, IReadOnlyList<string> Snapshots, DiskImageInfo? Backing)
{
    /// <summary>The image and every backing file below it, top first.</summary>
    public IEnumerable<DiskImageInfo> Chain()
    {
        for (var i = this; i is not null; i = i.Backing)
            yield return i;
    }
}
