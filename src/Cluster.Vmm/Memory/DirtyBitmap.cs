namespace Cluster.Vmm.Memory;

/// <summary>
/// One bit per 4 KiB page of a memory slot, laid out as KVM's dirty log (bit i of word i/64 is
/// page i). Marking is thread-safe (vCPU threads and device threads mark concurrently).
/// </summary>
public sealed class DirtyBitmap
{
    private readonly ulong[] _words;

    public DirtyBitmap(ulong pages)
    {
        Pages = pages;
        _words = new ulong[(pages + 63) / 64];
    }

    private DirtyBitmap(ulong pages, ulong[] words)
    {
        Pages = pages;
        _words = words;
    }

    public ulong Pages { get; }

    /// <summary>The raw words, in KVM's layout.</summary>
    public ReadOnlySpan<ulong> Words => _words;

    /// <summary>Builds a bitmap over raw words (for example from KVM_GET_DIRTY_LOG).</summary>
    public static DirtyBitmap FromWords(ulong pages, ulong[] words)
    {
        if ((ulong)words.Length != (pages + 63) / 64)
            throw new ArgumentException($"{words.Length} words do not cover {pages} pages", nameof(words));
        return new DirtyBitmap(pages, words);
    }

    public bool IsDirty(ulong page) => (Volatile.Read(ref _words[page >> 6]) & (1UL << (int)(page & 63))) != 0;

    public void Mark(ulong page)
    {
        ref ulong w = ref _words[page >> 6];
        ulong bit = 1UL << (int)(page & 63);
        if ((Volatile.Read(ref w) & bit) == 0)
            Interlocked.Or(ref w, bit);
    }

    /// <summary>Marks every page touched by the byte range [offset, offset+length) of the slot.</summary>
    public void MarkRange(ulong offset, ulong length)
    {
        if (length == 0) return;
        ulong first = offset >> GuestAddress.PageShift, last = (offset + length - 1) >> GuestAddress.PageShift;
        for (ulong p = first; p <= last && p < Pages; p++) Mark(p);
    }

    /// <summary>Returns the marks so far and clears them, atomically per word.</summary>
    public DirtyBitmap TakeAndClear()
    {
        var copy = new ulong[_words.Length];
        for (int i = 0; i < _words.Length; i++)
            copy[i] = Volatile.Read(ref _words[i]) == 0 ? 0 : Interlocked.Exchange(ref _words[i], 0);
        return new DirtyBitmap(Pages, copy);
    }

    /// <summary>ORs another bitmap of the same size into this one.</summary>
    public void UnionWith(DirtyBitmap other)
    {
        if (other.Pages != Pages) throw new ArgumentException("bitmaps differ in size", nameof(other));
        for (int i = 0; i < _words.Length; i++)
            if (other._words[i] != 0) Interlocked.Or(ref _words[i], other._words[i]);
    }

    public ulong CountDirty()
    {
        ulong n = 0;
        foreach (var w in _words) n += (ulong)System.Numerics.BitOperations.PopCount(w);
        return n;
    }

    /// <summary>The dirty page numbers in ascending order.</summary>
    public IEnumerable<ulong> DirtyPages()
    {
        for (int i = 0; i < _words.Length; i++)
        {
            ulong w = _words[i];
            while (w != 0)
            {
                int b = System.Numerics.BitOperations.TrailingZeroCount(w);
                yield return ((ulong)i << 6) + (ulong)b;
                w &= w - 1;
            }
        }
    }
}
