namespace Cluster.Vmm.Migration;

/// <summary>
/// The source's copies of pages as last sent, for <see cref="Xbzrle"/> deltas: direct-mapped by
/// page number over a fixed number of entries, so its memory is bounded; an entry is replaced by
/// any other page that maps to it. One cache per sending connection (not thread-safe).
/// </summary>
public sealed class XbzrleCache
{
    private readonly ulong[] _tags;
    private readonly byte[]?[] _pages;

    /// <summary>A cache of at most <paramref name="bytes"/> of page copies (at least one page).</summary>
    public XbzrleCache(long bytes)
    {
        int entries = (int)Math.Clamp(bytes / (long)GuestAddress.PageSize, 1, int.MaxValue / 2);
        _tags = new ulong[entries];
        _pages = new byte[entries][];
    }

    /// <summary>The copy of <paramref name="page"/> as last sent, or null when not cached.</summary>
    public byte[]? Find(ulong page)
    {
        int i = (int)(page % (ulong)_tags.Length);
        return _pages[i] is { } copy && _tags[i] == page ? copy : null;
    }

    /// <summary>Records <paramref name="content"/> as what was last sent for <paramref name="page"/>.</summary>
    public void Store(ulong page, ReadOnlySpan<byte> content)
    {
        int i = (int)(page % (ulong)_tags.Length);
        var copy = _pages[i] ??= new byte[GuestAddress.PageSize];
        content.CopyTo(copy);
        _tags[i] = page;
    }
}
