namespace Cluster.Vmm.Memory;

/// <summary>
/// The guest pages that a post-copy migration target still lacks, one bit per 4 KiB page of each
/// memory slot. Whoever is about to use a page (the emulator's page-access path, the VMM's own
/// reads and writes through <see cref="GuestMemory"/>, the userfaultfd thread on KVM) calls
/// <see cref="EnsurePresent(ulong)"/>: a present page costs one bit test; a missing one is requested
/// once through the callback and the caller blocks until <see cref="Install"/> brings it, or until
/// <see cref="Fail"/> ends post-copy, when it throws a <see cref="VmmException"/> with
/// <see cref="Operation"/> so that a vCPU stops on it instead of running on a page that never came.
/// </summary>
public sealed unsafe class MissingPages
{
    /// <summary>The <see cref="VmmException.Operation"/> of the failure that a waiting caller gets.</summary>
    public const string Operation = "post-copy";

    private readonly MemorySlot[] _slots;
    private readonly ulong[][] _missing;
    private readonly ulong[][] _requested;
    private readonly Action<ulong> _request;
    private readonly object _gate = new();
    private Userfault? _userfault;
    private long _remaining;
    private volatile string? _failure;

    /// <summary>An empty map over the slots of <paramref name="memory"/>; <paramref name="request"/> is called
    /// (on the thread that needs the page, at most once per page) with the guest-physical address of a
    /// missing page that someone waits for.</summary>
    public MissingPages(GuestMemory memory, Action<ulong> request)
    {
        ArgumentNullException.ThrowIfNull(memory);
        _request = request ?? throw new ArgumentNullException(nameof(request));
        _slots = [.. memory.Slots];
        _missing = [.. _slots.Select(s => new ulong[((s.Size >> GuestAddress.PageShift) + 63) / 64])];
        _requested = [.. _slots.Select(s => new ulong[((s.Size >> GuestAddress.PageShift) + 63) / 64])];
    }

    /// <summary>Pages still missing.</summary>
    public long Remaining => Interlocked.Read(ref _remaining);

    /// <summary>Why post-copy ended without every page, or null.</summary>
    public string? Failure => _failure;

    /// <summary>
    /// Serves missing pages through userfaultfd (<see cref="Userfault"/>) instead of only through
    /// <see cref="EnsurePresent(ulong)"/>: needed where guest code touches host memory without the VMM
    /// seeing it (KVM). Call after <see cref="MarkMissing"/>, before the guest runs.
    /// </summary>
    /// <exception cref="VmmException">the kernel refuses userfaultfd.</exception>
    public void ServeFaults()
    {
        if (_userfault is not null) return;
        _userfault = Userfault.Create(_slots, gpa => Fault(gpa));
    }

    /// <summary>
    /// Marks <paramref name="pages"/> pages from <paramref name="gpa"/> missing and gives their host
    /// memory back to the kernel (so that, with <see cref="ServeFaults"/>, a touch faults). Before the guest runs.
    /// </summary>
    /// <exception cref="VmmException">the range is not inside one slot.</exception>
    public void MarkMissing(ulong gpa, ulong pages)
    {
        int s = SlotIndex(gpa);
        var slot = s < 0 ? null : _slots[s];
        if (slot is null || pages > (slot.End - gpa) >> GuestAddress.PageShift || (gpa & (GuestAddress.PageSize - 1)) != 0)
            throw new VmmException($"missing pages 0x{gpa:x}+{pages} are not inside one memory slot", Operation);
        ulong first = (gpa - slot.GuestPhysAddr) >> GuestAddress.PageShift;
        long added = 0;
        for (ulong p = first; p < first + pages; p++)
        {
            ulong bit = 1UL << (int)(p & 63);
            if ((_missing[s][p >> 6] & bit) != 0) continue;
            _missing[s][p >> 6] |= bit;
            added++;
        }
        slot.Memory.Discard(first << GuestAddress.PageShift, pages << GuestAddress.PageShift);
        Interlocked.Add(ref _remaining, added);
    }

    /// <summary>Whether the page holding <paramref name="gpa"/> is missing.</summary>
    public bool IsMissing(ulong gpa)
    {
        int s = SlotIndex(gpa);
        if (s < 0) return false;
        ulong p = (gpa - _slots[s].GuestPhysAddr) >> GuestAddress.PageShift;
        return (Volatile.Read(ref _missing[s][p >> 6]) & (1UL << (int)(p & 63))) != 0;
    }

    /// <summary>Returns once the page holding <paramref name="gpa"/> is present, requesting it when missing.</summary>
    /// <exception cref="VmmException">post-copy failed before the page came.</exception>
    public void EnsurePresent(ulong gpa)
    {
        if (_failure is { } failure) throw new VmmException(failure, Operation);
        if (!IsMissing(gpa)) return;
        Wait(gpa);
    }

    /// <summary>Returns once every page of [<paramref name="gpa"/>, +<paramref name="length"/>) is present.</summary>
    /// <exception cref="VmmException">post-copy failed before the pages came.</exception>
    public void EnsurePresent(ulong gpa, ulong length)
    {
        if (length == 0) return;
        for (ulong p = gpa >> GuestAddress.PageShift; p <= (gpa + length - 1) >> GuestAddress.PageShift; p++)
            EnsurePresent(p << GuestAddress.PageShift);
    }

    /// <summary>
    /// Puts the content of a missing page in place (<paramref name="content"/>: its 4,096 bytes, or empty
    /// for a zero page) and wakes whoever waits for it; false (nothing written) when the page is not
    /// missing, as when it came already: a page on the target is never overwritten by an older copy.
    /// </summary>
    public bool Install(ulong gpa, ReadOnlySpan<byte> content)
    {
        int s = SlotIndex(gpa);
        if (s < 0) throw new VmmException($"page 0x{gpa:x} is outside guest memory", Operation);
        var slot = _slots[s];
        ulong p = (gpa - slot.GuestPhysAddr) >> GuestAddress.PageShift;
        ulong bit = 1UL << (int)(p & 63);
        if ((Volatile.Read(ref _missing[s][p >> 6]) & bit) == 0) return false;
        byte* host = slot.Memory.Pointer + (p << GuestAddress.PageShift);
        if (_userfault is { } uffd) uffd.Place(host, content);
        else
        {
            // SAFETY: p is a page of this slot (found by address), so its 4 KiB are inside the mapping,
            // which lives as long as the slot; no vCPU reads the page while its missing bit is set.
            var page = new Span<byte>(host, (int)GuestAddress.PageSize);
            if (content.IsEmpty) page.Clear();
            else content.CopyTo(page);
        }
        lock (_gate)
        {
            Interlocked.And(ref _missing[s][p >> 6], ~bit);
            Interlocked.Decrement(ref _remaining);
            Monitor.PulseAll(_gate);
        }
        return true;
    }

    /// <summary>
    /// Ends post-copy with pages missing: every waiter, present and future, gets a <see cref="VmmException"/>
    /// with <paramref name="reason"/>; with <see cref="ServeFaults"/>, guest memory becomes inaccessible
    /// first, so that no vCPU runs on a page that never came.
    /// </summary>
    public void Fail(string reason)
    {
        lock (_gate)
        {
            if (_failure is not null) return;
            _failure = reason;
            Monitor.PulseAll(_gate);
        }
        _userfault?.Fail();
    }

    /// <summary>Stops serving faults (every page is present, or post-copy failed); the map answers as before.</summary>
    public void Close()
    {
        _userfault?.Dispose();
    }

    /// <summary>A fault reported by userfaultfd: a missing page is requested; any other page not mapped
    /// was never written here (it reads as zeros). A refused placement ends post-copy, as a waiting
    /// thread could never be woken otherwise.</summary>
    private void Fault(ulong gpa)
    {
        if (IsMissing(gpa)) Request(gpa);
        else
        {
            try { _userfault?.Place(HostPage(gpa), ReadOnlySpan<byte>.Empty); }
            catch (VmmException e) { Fail($"post-copy could not map page 0x{gpa:x}: {e.Message}"); }
        }
    }

    private byte* HostPage(ulong gpa)
    {
        var slot = _slots[SlotIndex(gpa)];
        return slot.Memory.Pointer + ((gpa - slot.GuestPhysAddr) & ~(GuestAddress.PageSize - 1));
    }

    private void Wait(ulong gpa)
    {
        Request(gpa);
        lock (_gate)
            while (IsMissing(gpa))
            {
                if (_failure is { } failure) throw new VmmException(failure, Operation);
                Monitor.Wait(_gate, 100);
            }
    }

    /// <summary>Asks for the page once.</summary>
    private void Request(ulong gpa)
    {
        int s = SlotIndex(gpa);
        ulong p = (gpa - _slots[s].GuestPhysAddr) >> GuestAddress.PageShift;
        ulong bit = 1UL << (int)(p & 63);
        if ((Interlocked.Or(ref _requested[s][p >> 6], bit) & bit) == 0)
            _request(_slots[s].GuestPhysAddr + (p << GuestAddress.PageShift));
    }

    private int SlotIndex(ulong gpa)
    {
        for (int i = 0; i < _slots.Length; i++)
            if (_slots[i].Contains(gpa)) return i;
        return -1;
    }
}
