using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Cluster.Vmm.Devices.Virtio;
using Cluster.Vmm.Storage;
using static Cluster.Vmm.Devices.VirtioBlock.VirtioBlockRequest;
using static Cluster.Vmm.Devices.Virtio.VirtioConstants;

namespace Cluster.Vmm.Devices.VirtioBlock;

/// <summary>
/// A virtio-blk device over an <see cref="IDiskImage"/>: IN, OUT, FLUSH (returns once the image's
/// fdatasync has; a driver without the FLUSH feature gets every write synced), GET_ID (the serial), DISCARD and WRITE_ZEROES, a read-only mode, one queue per
/// vCPU (VIRTIO_BLK_F_MQ), indirect descriptors and event index. Requests run on the queues' I/O
/// threads, never on a vCPU thread. A request the image cannot serve (out of range, not a whole
/// number of sectors, a write to a read-only disk, an I/O error) completes with IOERR; an unknown
/// type with UNSUPP; a chain with no room for the header or the status byte breaks the queue
/// (DEVICE_NEEDS_RESET).
/// </summary>
public sealed class VirtioBlockDevice : VirtioDevice
{
    /// <summary>Bytes moved between the image and guest memory at a time: a request may be as large as
    /// the disk (the device advertises no limit), its buffer is not.</summary>
    private const int ChunkBytes = 1 << 20;

    /// <summary>Limits advertised for discard and write-zeroes.</summary>
    public const uint MaxDiscardSectors = 1u << 22, MaxDiscardSegments = 32;

    private const int ConfigBytes = 0x3c;
    private const int SegMaxValue = 254;

    private readonly IDiskImage _image;
    private readonly byte[] _id;
    private readonly int _queues;
    private readonly int _ioThreads;
    private volatile bool _writeThrough;
    private long _reads, _writes, _flushes, _bytesRead, _bytesWritten, _errors, _discards, _writeZeroes;

    /// <summary>A block device named <paramref name="name"/> over <paramref name="image"/> (owned by the
    /// device from now on), with <paramref name="queues"/> request queues, the serial <paramref name="serial"/>
    /// and <paramref name="ioThreads"/> I/O threads per queue (1 serves a queue strictly in order).</summary>
    public VirtioBlockDevice(string name, IDiskImage image, int queues, string serial, int ioThreads = DefaultIoThreads) : base(name)
    {
        if (ioThreads is < 1 or > 64) throw new VmmException($"{name}: {ioThreads} I/O threads per queue (1..64)", "virtio-blk");
        _ioThreads = ioThreads;
        _image = image ?? throw new ArgumentNullException(nameof(image));
        if (queues is < 1 or > 64) throw new VmmException($"{name}: {queues} queues (1..64)", "virtio-blk");
        var id = Encoding.ASCII.GetBytes(serial);
        if (id.Length > IdBytes) throw new VmmException($"{name}: serial '{serial}' is longer than {IdBytes} bytes", "virtio-blk");
        _id = id;
        _queues = queues;
    }

    /// <summary>The image behind the device.</summary>
    public IDiskImage Image => _image;

    /// <inheritdoc />
    public override int DeviceType => DeviceTypeBlock;

    /// <inheritdoc />
    public override int QueueCount => _queues;

    /// <inheritdoc />
    public override int ConfigSize => ConfigBytes;

    /// <inheritdoc />
    public override ulong DeviceFeatures =>
        Bit(FeatureVersion1) | Bit(FeatureIndirectDesc) | Bit(FeatureEventIdx)
        | Bit(VirtioBlockFeatures.SegMax) | Bit(VirtioBlockFeatures.BlkSize) | Bit(VirtioBlockFeatures.Flush)
        | Bit(VirtioBlockFeatures.Mq) | Bit(VirtioBlockFeatures.Topology)
        | (_image.ReadOnly ? Bit(VirtioBlockFeatures.ReadOnly) : Bit(VirtioBlockFeatures.Discard) | Bit(VirtioBlockFeatures.WriteZeroes));

    /// <inheritdoc />
    public override void ReadConfig(int offset, Span<byte> data)
    {
        Span<byte> c = stackalloc byte[ConfigBytes];
        c.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(c, _image.VirtualSize / SectorSize);
        BinaryPrimitives.WriteUInt32LittleEndian(c[0x0c..], SegMaxValue);
        BinaryPrimitives.WriteUInt32LittleEndian(c[0x14..], SectorSize);
        c[0x18] = 3; // physical block exponent: 4 KiB physical blocks
        BinaryPrimitives.WriteUInt16LittleEndian(c[0x1a..], 8); // min_io_size in logical blocks
        BinaryPrimitives.WriteUInt16LittleEndian(c[0x22..], (ushort)_queues);
        BinaryPrimitives.WriteUInt32LittleEndian(c[0x24..], MaxDiscardSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(c[0x28..], MaxDiscardSegments);
        BinaryPrimitives.WriteUInt32LittleEndian(c[0x2c..], 8);
        BinaryPrimitives.WriteUInt32LittleEndian(c[0x30..], MaxDiscardSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(c[0x34..], MaxDiscardSegments);
        c[0x38] = 1; // write zeroes may unmap
        if (offset < 0 || offset >= ConfigBytes) { data.Clear(); return; }
        int n = Math.Min(data.Length, ConfigBytes - offset);
        c.Slice(offset, n).CopyTo(data);
        data[n..].Clear();
    }

    /// <summary>A driver that did not accept VIRTIO_BLK_F_FLUSH never sends one and takes a completed
    /// write as durable (virtio 1.x 5.2.6.2; Linux then turns its write cache off): such a device writes
    /// through, syncing the image before it completes each write.</summary>
    protected override void OnActivate(ulong features) => _writeThrough = (features & Bit(VirtioBlockFeatures.Flush)) == 0;

    /// <inheritdoc />
    protected override IEnumerable<KeyValuePair<string, long>> DeviceCounters() =>
    [
        new("reads", Interlocked.Read(ref _reads)), new("writes", Interlocked.Read(ref _writes)),
        new("flushes", Interlocked.Read(ref _flushes)), new("bytes_read", Interlocked.Read(ref _bytesRead)),
        new("bytes_written", Interlocked.Read(ref _bytesWritten)), new("io_errors", Interlocked.Read(ref _errors)),
        new("discards", Interlocked.Read(ref _discards)), new("write_zeroes", Interlocked.Read(ref _writeZeroes)),
    ];

    /// <summary>The device's reads and writes so far (bytes and requests that succeeded), for the machine's <see cref="IoCounters"/>.</summary>
    public IoCounters IoCounters => new(
        DiskReadBytes: Interlocked.Read(ref _bytesRead), DiskWriteBytes: Interlocked.Read(ref _bytesWritten),
        DiskReadOps: Interlocked.Read(ref _reads), DiskWriteOps: Interlocked.Read(ref _writes), 0, 0, 0, 0);

    /// <inheritdoc />
    protected override uint Process(int queue, DescriptorChain chain)
    {
        ulong readable = chain.ReadableLength, writable = chain.WritableLength;
        if (readable < HeaderSize) throw new VirtioQueueException($"queue {queue}: a request of {readable} readable bytes has no room for its header");
        if (writable < 1) throw new VirtioQueueException($"queue {queue}: a request with no writable byte for its status");
        Span<byte> header = stackalloc byte[HeaderSize];
        chain.Read(Memory, 0, header);
        uint type = BinaryPrimitives.ReadUInt32LittleEndian(header);
        ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
        ulong statusOffset = writable - 1;
        uint written = 0;
        byte status;
        try
        {
            (status, written) = type switch
            {
                TypeIn => (Read(chain, sector, statusOffset), (uint)statusOffset),
                TypeOut => (Write(chain, sector, readable - HeaderSize), 0u),
                TypeFlush => (Flush(), 0u),
                TypeGetId => GetId(chain, statusOffset),
                TypeDiscard or TypeWriteZeroes => (Ranges(chain, type, readable - HeaderSize), 0u),
                _ => (StatusUnsupported, 0u),
            };
        }
        catch (Exception e) when (e is VmmException or IOException or UnauthorizedAccessException)
        {
            status = StatusIoErr;
            written = type == TypeIn ? (uint)statusOffset : 0;
        }
        if (status == StatusIoErr) Interlocked.Increment(ref _errors);
        chain.Write(Memory, statusOffset, [status]);
        // The used length of a failed IN covers its buffers (as QEMU reports it); the DMA counter only
        // what was written: the status byte.
        CountDma((status == StatusOk ? written : 0) + 1);
        return written + 1;
    }

    private bool InRange(ulong sector, ulong bytes) =>
        bytes % SectorSize == 0 && sector <= _image.VirtualSize / SectorSize
        && bytes <= _image.VirtualSize - sector * SectorSize;

    /// <summary>I/O threads per queue by default: a driver's queue depth is served in parallel, as QEMU's
    /// thread pool serves it (completions may then overtake one another, which virtio allows).</summary>
    public const int DefaultIoThreads = 4;

    /// <inheritdoc />
    protected override int ThreadsPerQueue => _ioThreads;

    private byte Read(DescriptorChain chain, ulong sector, ulong length)
    {
        if (!InRange(sector, length)) return StatusIoErr;
        // Straight from the file into guest memory where the buffers are whole sectors (always, for Linux);
        // through a bounce buffer otherwise.
        if (!chain.ForEachPiece(Memory, writable: true, 0, length, SectorSize, (gpa, span, offset) =>
            {
                _image.Read(sector * SectorSize + offset, span);
                Memory.MarkWritten(gpa, (ulong)span.Length);
            }))
        {
            InChunks(length, (done, chunk) =>
            {
                _image.Read(sector * SectorSize + done, chunk);
                chain.Write(Memory, done, chunk);
            });
        }
        Interlocked.Increment(ref _reads);
        Interlocked.Add(ref _bytesRead, (long)length);
        return StatusOk;
    }

    private byte Write(DescriptorChain chain, ulong sector, ulong length)
    {
        if (_image.ReadOnly || !InRange(sector, length)) return StatusIoErr;
        if (!chain.ForEachPiece(Memory, writable: false, HeaderSize, length, SectorSize,
            (_, span, offset) => _image.Write(sector * SectorSize + offset, span)))
        {
            InChunks(length, (done, chunk) =>
            {
                chain.Read(Memory, HeaderSize + done, chunk);
                _image.Write(sector * SectorSize + done, chunk);
            });
        }
        if (_writeThrough) _image.Flush();
        Interlocked.Increment(ref _writes);
        Interlocked.Add(ref _bytesWritten, (long)length);
        return StatusOk;
    }

    private delegate void ChunkAction(ulong done, Span<byte> chunk);

    /// <summary>Moves <paramref name="length"/> bytes through a pooled buffer, at most <see cref="ChunkBytes"/> at a time.</summary>
    private static void InChunks(ulong length, ChunkAction action)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(length, ChunkBytes));
        try
        {
            for (ulong done = 0; done < length;)
            {
                var chunk = buffer.AsSpan(0, (int)Math.Min(length - done, ChunkBytes));
                action(done, chunk);
                done += (ulong)chunk.Length;
            }
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    private byte Flush()
    {
        if (!_image.ReadOnly) _image.Flush();
        Interlocked.Increment(ref _flushes);
        return StatusOk;
    }

    private (byte, uint) GetId(DescriptorChain chain, ulong room)
    {
        Span<byte> id = stackalloc byte[IdBytes];
        id.Clear();
        _id.CopyTo(id);
        int n = (int)Math.Min(room, IdBytes);
        chain.Write(Memory, 0, id[..n]);
        return (StatusOk, (uint)n);
    }

    private byte Ranges(DescriptorChain chain, uint type, ulong length)
    {
        if (_image.ReadOnly) return StatusIoErr;
        if (length == 0 || length % SegmentSize != 0 || length / SegmentSize > MaxDiscardSegments) return StatusUnsupported;
        Span<byte> segments = stackalloc byte[(int)length];
        chain.Read(Memory, HeaderSize, segments);
        for (int i = 0; i < segments.Length; i += SegmentSize)
        {
            ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(segments[i..]);
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(segments[(i + 8)..]);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(segments[(i + 12)..]);
            if (count > MaxDiscardSectors) return StatusIoErr;
            if ((type == TypeDiscard && flags != 0) || (flags & ~FlagUnmap) != 0) return StatusUnsupported;
            if (!InRange(sector, (ulong)count * SectorSize)) return StatusIoErr;
        }
        for (int i = 0; i < segments.Length; i += SegmentSize)
        {
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(segments[i..]) * SectorSize;
            ulong bytes = (ulong)BinaryPrimitives.ReadUInt32LittleEndian(segments[(i + 8)..]) * SectorSize;
            if (type == TypeDiscard)
            {
                _image.Discard(offset, bytes);
                Interlocked.Increment(ref _discards);
            }
            else
            {
                _image.WriteZeroes(offset, bytes, (BinaryPrimitives.ReadUInt32LittleEndian(segments[(i + 12)..]) & FlagUnmap) != 0);
                Interlocked.Increment(ref _writeZeroes);
            }
        }
        if (_writeThrough && type == TypeWriteZeroes) _image.Flush();
        return StatusOk;
    }

    /// <inheritdoc />
    protected internal override byte[] SaveDeviceState()
    {
        // The device keeps nothing beyond its transport's state but the identity of its image,
        // which the receiving side checks: the same virtual size and read-only mode.
        var blob = new byte[9];
        BinaryPrimitives.WriteUInt64LittleEndian(blob, _image.VirtualSize);
        blob[8] = _image.ReadOnly ? (byte)1 : (byte)0;
        return blob;
    }

    /// <inheritdoc />
    protected internal override void RestoreDeviceState(ReadOnlySpan<byte> state)
    {
        if (state.Length != 9) throw new VmmException($"{Name}: block state of {state.Length} bytes", "virtio-blk-restore");
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(state);
        bool ro = state[8] != 0;
        if (ro != _image.ReadOnly)
            throw new VmmException($"{Name}: the source's disk is {(ro ? "read-only" : "writable")}, {_image.Path} here is {(_image.ReadOnly ? "read-only" : "writable")}", "virtio-blk-restore");
        if (_image is HandoverDiskImage { IsActive: false } handover) handover.ExpectedVirtualSize = size;
        else if (size != _image.VirtualSize)
            throw new VmmException($"{Name}: the source's disk is {size} bytes, {_image.Path} here is {_image.VirtualSize} bytes", "virtio-blk-restore");
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        base.Dispose();
        _image.Dispose();
    }
}
