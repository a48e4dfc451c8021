namespace Cluster.Vmm.Storage.Qcow2;

/// <summary>What an L2 entry says about its guest cluster.</summary>
internal enum Qcow2ClusterKind
{
    /// <summary>No data here: the backing file's, or zeroes.</summary>
    Unallocated,
    /// <summary>Reads as zeroes (flag bit 0, version 3); may keep a preallocated host cluster.</summary>
    Zero,
    /// <summary>Deflate-compressed data in a byte range of the file.</summary>
    Compressed,
    /// <summary>A host cluster holding the data.</summary>
    Normal,
}

/// <summary>The bit layout of L1 and L2 entries.</summary>
internal static class Qcow2Entry
{
    public const ulong Copied = 1UL << 63, Compressed = 1UL << 62, ZeroFlag = 1;
    /// <summary>Bits 9..55: the host offset of an L2 table or a standard cluster.</summary>
    public const ulong OffsetMask = 0x00fffffffffffe00;

    public static Qcow2ClusterKind Kind(ulong entry, uint version)
    {
        if ((entry & Compressed) != 0)
            return Qcow2ClusterKind.Compressed;
        if (version >= 3 && (entry & ZeroFlag) != 0)
            return Qcow2ClusterKind.Zero;
        return (entry & OffsetMask) == 0 ? Qcow2ClusterKind.Unallocated : Qcow2ClusterKind.Normal;
    }

    public static ulong HostOffset(ulong entry) => entry & OffsetMask;

    /// <summary>The host byte range of a compressed cluster: offset and length (the sectors QEMU counts).</summary>
    public static (ulong Offset, ulong Length) CompressedRange(ulong entry, int clusterBits)
    {
        int shift = 62 - (clusterBits - 8);
        ulong offset = entry & ((1UL << shift) - 1);
        ulong sectors = ((entry >> shift) & ((1UL << (clusterBits - 8)) - 1)) + 1;
        return (offset, sectors * 512 - (offset & 511));
    }
}
