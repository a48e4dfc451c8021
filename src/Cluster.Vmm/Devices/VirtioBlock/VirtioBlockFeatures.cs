namespace Cluster.Vmm.Devices.VirtioBlock;

/// <summary>The feature bits of virtio-blk (virtio 1.x, 5.2.3).</summary>
public static class VirtioBlockFeatures
{
    /// <summary>Feature bit numbers.</summary>
    public const int SegMax = 2, ReadOnly = 5, BlkSize = 6, Flush = 9, Topology = 10, Mq = 12, Discard = 13, WriteZeroes = 14;
}
