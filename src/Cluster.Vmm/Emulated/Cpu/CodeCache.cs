using System.Collections.Concurrent;

namespace Cluster.Vmm.Emulated.Cpu;

/// <summary>
/// One vCPU's decoded code: a <see cref="CodePage"/> per guest-physical page and code size, at most
/// <see cref="MaxPages"/> of them. A page that would go past the bound flushes the whole cache first,
/// as QEMU's TCG flushes its translation buffer when full: every page dropped is marked invalid, so the
/// ITLB entries, block links and compiled blocks that still reference it are never followed again
/// (each use tests <see cref="CodePage.Valid"/>). Only the owning vCPU adds and flushes; any thread may
/// remove a page (a write to decoded code).
/// </summary>
internal sealed class CodeCache
{
    /// <summary>The default bound: 4096 pages, 16 MiB of guest code per vCPU.</summary>
    public const int DefaultMaxPages = 4096;

    private readonly ConcurrentDictionary<ulong, CodePage> _pages = new();
    private int _count;
    private int _peak;
    private long _evictions;
    private long _flushes;

    public CodeCache(int maxPages)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPages, 1);
        MaxPages = maxPages;
    }

    public int MaxPages { get; }

    /// <summary>Pages held now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The most pages held at once since creation.</summary>
    public int Peak => Volatile.Read(ref _peak);

    /// <summary>Pages dropped to stay within the bound (not counting invalidations by writes).</summary>
    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>Flushes made to stay within the bound.</summary>
    public long Flushes => Interlocked.Read(ref _flushes);

    /// <summary>The valid page under <paramref name="key"/>, if any.</summary>
    public bool TryGet(ulong key, out CodePage page) => _pages.TryGetValue(key, out page!) && page.Valid;

    /// <summary>
    /// Adds a fresh page under <paramref name="key"/> (owning vCPU only); <paramref name="flushed"/> says
    /// the cache was full and every other page was dropped, so the caller drops its references too.
    /// </summary>
    public CodePage Add(ulong key, ulong physPage, int bitness, out bool flushed)
    {
        if (_pages.TryGetValue(key, out var stale)) Drop(key, stale);
        flushed = Count >= MaxPages;
        if (flushed)
        {
            Interlocked.Add(ref _evictions, Flush());
            Interlocked.Increment(ref _flushes);
        }
        var page = new CodePage(physPage, bitness);
        if (!_pages.TryAdd(key, page)) throw new InvalidOperationException($"code page 0x{physPage:x} added twice: only the owning vCPU adds");
        int count = Interlocked.Increment(ref _count);
        if (count > _peak) _peak = count;
        return page;
    }

    /// <summary>Drops the page under <paramref name="key"/> (any thread).</summary>
    public void Remove(ulong key)
    {
        if (_pages.TryRemove(key, out var page)) Invalidated(page);
    }

    /// <summary>Drops every page; returns how many.</summary>
    public int Flush()
    {
        int dropped = 0;
        foreach (var (key, page) in _pages)
            if (Drop(key, page)) dropped++;
        return dropped;
    }

    private bool Drop(ulong key, CodePage page)
    {
        if (!_pages.TryRemove(new KeyValuePair<ulong, CodePage>(key, page))) return false;
        Invalidated(page);
        return true;
    }

    private void Invalidated(CodePage page)
    {
        page.Valid = false;
        Interlocked.Decrement(ref _count);
    }
}
