using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Migration;

/// <summary>
/// One sending connection of a source: packs page records into Pages frames of up to 256 KiB,
/// spends the shared <see cref="TokenBucket"/> before each frame, and keeps its own
/// <see cref="XbzrleCache"/>. A page to be cached is copied to a scratch buffer before it is
/// encoded, so the record and the cached copy agree even while the guest writes the page (it is
/// dirty again then and goes in a later round). Used by one thread at a time.
/// </summary>
internal sealed class PageSender
{
    private const int FrameCapacity = 256 << 10;

    private readonly TokenBucket _bucket;
    private readonly XbzrleCache? _cache;
    private readonly byte[] _frame = new byte[MigrationProtocol.HeaderSize + FrameCapacity];
    private readonly byte[] _scratch = new byte[PageCodec.PageSize];
    private int _used = MigrationProtocol.HeaderSize;

    public PageSender(FrameStream stream, TokenBucket bucket, XbzrleCache? cache)
    {
        Stream = stream;
        _bucket = bucket;
        _cache = cache;
    }

    public FrameStream Stream { get; }
    public long Pages { get; private set; }
    public long ZeroPages { get; private set; }
    public long DeltaPages { get; private set; }

    /// <summary>Non-zero pages sent (full or delta): the guest bytes that really had to move.</summary>
    public long DataPages { get; private set; }

    /// <summary>Encodes page <paramref name="page"/> of <paramref name="slot"/>; <paramref name="cacheable"/>
    /// pages (those of dirty rounds) are remembered for deltas.</summary>
    public void Send(MemorySlot slot, ulong page, bool cacheable, CancellationToken ct)
    {
        if (_frame.Length - _used < PageCodec.MaxRecord) Flush(ct);
        var live = slot.Memory.AsSpan(page << GuestAddress.PageShift, PageCodec.PageSize);
        ulong gpa = slot.GuestPhysAddr + (page << GuestAddress.PageShift);
        ulong key = gpa >> GuestAddress.PageShift;
        var previous = _cache?.Find(key);
        // With no copy to keep, the page is encoded straight from guest memory (one copy less): a
        // write racing with it leaves the page dirty, so it goes again in a later round.
        bool keep = _cache is not null && (cacheable || previous is not null);
        ReadOnlySpan<byte> content = live;
        if (keep)
        {
            live.CopyTo(_scratch);
            content = _scratch;
        }
        var (length, encoding) = PageCodec.Encode(gpa, content, previous, _frame.AsSpan(_used));
        _used += length;
        Pages++;
        switch (encoding)
        {
            case PageEncoding.Zero: ZeroPages++; break;
            case PageEncoding.Delta: DeltaPages++; DataPages++; break;
            default: DataPages++; break;
        }
        if (keep && encoding != PageEncoding.Zero)
            _cache!.Store(key, _scratch);
        else if (previous is not null)
            Array.Clear(previous);
    }

    /// <summary>Sends the records packed so far as one frame.</summary>
    public void Flush(CancellationToken ct)
    {
        if (_used == MigrationProtocol.HeaderSize) return;
        ct.ThrowIfCancellationRequested();
        _bucket.Take(_used, ct);
        Stream.WriteFramed(MigrationCommand.Pages, _frame.AsSpan(0, _used));
        _used = MigrationProtocol.HeaderSize;
    }
}
