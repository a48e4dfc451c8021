namespace Cluster.Vmm.Devices;

/// <summary>
/// A machine's disk and network traffic since its devices were made, summed over its disks and NICs: cumulative, so a
/// reader takes two and divides by the time between them. Read from the devices' own counters (Interlocked, updated on
/// their I/O threads), so reading costs a few loads per device and never waits on the guest.
/// </summary>
/// <param name="DiskReadBytes">Bytes the guest read from its disks (virtio-blk IN requests).</param>
/// <param name="DiskWriteBytes">Bytes it wrote (OUT requests; discards and write-zeroes are not counted).</param>
/// <param name="DiskReadOps">IN requests that succeeded.</param>
/// <param name="DiskWriteOps">OUT requests that succeeded.</param>
/// <param name="NetRxBytes">Bytes of the frames its NICs received (placed in the guest's buffers, without the virtio header).</param>
/// <param name="NetTxBytes">Bytes of the frames its NICs sent to their taps.</param>
/// <param name="NetRxPackets">Frames received.</param>
/// <param name="NetTxPackets">Frames sent.</param>
public readonly record struct IoCounters(
    long DiskReadBytes, long DiskWriteBytes, long DiskReadOps, long DiskWriteOps,
    long NetRxBytes, long NetTxBytes, long NetRxPackets, long NetTxPackets)
{
    /// <summary>The counters of a machine with no disk and no NIC, or none yet.</summary>
    public static IoCounters Zero => default;

    /// <summary>The sum of two machines' (or devices') counters.</summary>
    public static IoCounters operator +(IoCounters a, IoCounters b) => new(
        a.DiskReadBytes + b.DiskReadBytes, a.DiskWriteBytes + b.DiskWriteBytes, a.DiskReadOps + b.DiskReadOps, a.DiskWriteOps + b.DiskWriteOps,
        a.NetRxBytes + b.NetRxBytes, a.NetTxBytes + b.NetTxBytes, a.NetRxPackets + b.NetRxPackets, a.NetTxPackets + b.NetTxPackets);
}
