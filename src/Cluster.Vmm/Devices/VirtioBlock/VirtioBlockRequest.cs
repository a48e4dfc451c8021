namespace Cluster.Vmm.Devices.VirtioBlock;

/// <summary>The request types and status codes of virtio-blk (virtio 1.x, 5.2.6).</summary>
public static class VirtioBlockRequest
{
    /// <summary>Request types.</summary>
    public const uint TypeIn = 0, TypeOut = 1, TypeFlush = 4, TypeGetId = 8, TypeDiscard = 11, TypeWriteZeroes = 13;

    /// <summary>Status bytes.</summary>
    public const byte StatusOk = 0, StatusIoErr = 1, StatusUnsupported = 2;

    /// <summary>Bytes of the request header (type, reserved, sector).</summary>
    public const int HeaderSize = 16;

    /// <summary>Bytes of one discard / write-zeroes segment (sector, count, flags).</summary>
    public const int SegmentSize = 16;

    /// <summary>The write-zeroes segment flag that allows deallocation.</summary>
    public const uint FlagUnmap = 1;

    /// <summary>The size of a sector: every offset and length of the protocol counts in these.</summary>
    public const int SectorSize = 512;

    /// <summary>Bytes of the id GET_ID returns.</summary>
    public const int IdBytes = 20;
}
