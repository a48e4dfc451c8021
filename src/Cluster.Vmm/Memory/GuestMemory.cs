using System.Buffers.Binary;

namespace Cluster.Vmm.Memory;

/// <summary>
/// The guest-physical address space of one VM: its memory slots, and reads and writes by the VMM
/// that may cross slot boundaries. Writes made here are marked dirty in slots that log dirty pages
/// (KVM does not see them) and are reported to the <see cref="IGuestWriteObserver"/>s.
/// </summary>
public sealed unsafe class GuestMemory
{
    private volatile MemorySlot[] _slots = [];
    private volatile IGuestWriteObserver[] _observers = [];
    private readonly object _gate = new();
    private volatile MissingPages? _missing;

    /// <summary>The slots, sorted by guest-physical address. Replaced as a whole on change.</summary>
    public IReadOnlyList<MemorySlot> Slots => _slots;

    /// <summary>During a post-copy migration's arrival, the pages not here yet (reads and writes through this
    /// object, and the emulator's page-access path, wait for them); null otherwise.</summary>
    public MissingPages? Missing
    {
        get => _missing;
        set => _missing = value;
    }

    /// <summary>Total bytes of guest memory over all slots.</summary>
    public ulong TotalSize { get { ulong n = 0; foreach (var s in _slots) n += s.Size; return n; } }

    public void AddObserver(IGuestWriteObserver observer)
    {
        lock (_gate) _observers = [.. _observers, observer];
    }

    /// <summary>Adds, replaces (same slot id) or, with null memory, removes a slot.</summary>
    /// <exception cref="VmmException">unaligned, overlapping or out-of-range regions.</exception>
    public MemorySlot? SetRegion(int slot, ulong guestPhysAddr, HostMemory? memory, MemoryRegionFlags flags, int maxSlots)
    {
        if (slot < 0 || slot >= maxSlots)
            throw new VmmException($"memory slot {slot} is out of range 0..{maxSlots - 1}", "KVM_SET_USER_MEMORY_REGION");
        lock (_gate)
        {
            var rest = _slots.Where(s => s.Slot != slot).ToList();
            if (memory is null)
            {
                _slots = [.. rest];
                return null;
            }
            if ((guestPhysAddr & (GuestAddress.PageSize - 1)) != 0)
                throw new VmmException($"slot {slot}: guest address 0x{guestPhysAddr:x} is not page aligned", "KVM_SET_USER_MEMORY_REGION");
            if (guestPhysAddr + memory.Size < guestPhysAddr || guestPhysAddr + memory.Size > (1UL << 52))
                throw new VmmException($"slot {slot}: region 0x{guestPhysAddr:x}+0x{memory.Size:x} exceeds the physical address space", "KVM_SET_USER_MEMORY_REGION");
            foreach (var s in rest)
                if (guestPhysAddr < s.End && s.GuestPhysAddr < guestPhysAddr + memory.Size)
                    throw new VmmException($"slot {slot}: region 0x{guestPhysAddr:x}+0x{memory.Size:x} overlaps slot {s.Slot} at 0x{s.GuestPhysAddr:x}+0x{s.Size:x}", "KVM_SET_USER_MEMORY_REGION");
            var created = new MemorySlot(slot, guestPhysAddr, memory, flags);
            rest.Add(created);
            _slots = [.. rest.OrderBy(s => s.GuestPhysAddr)];
            return created;
        }
    }

    public MemorySlot? FindSlot(ulong gpa)
    {
        foreach (var s in _slots)
            if (s.Contains(gpa)) return s;
        return null;
    }

    public MemorySlot GetSlot(int slot) =>
        _slots.FirstOrDefault(s => s.Slot == slot) ?? throw new VmmException($"no memory slot {slot}", "slot");

    /// <summary>Whether every byte of [gpa, gpa+length) is backed by a slot (false when the range wraps).</summary>
    public bool IsBacked(ulong gpa, ulong length)
    {
        if (length == 0) return true;
        if (gpa + length < gpa) return false;
        ulong end = gpa + length;
        while (gpa < end)
        {
            var s = FindSlot(gpa);
            if (s is null) return false;
            gpa = s.End;
        }
        return true;
    }

    /// <summary>Reads guest memory; the whole range must be backed by slots.</summary>
    public void Read(ulong gpa, Span<byte> destination)
    {
        _missing?.EnsurePresent(gpa, (ulong)destination.Length);
        while (!destination.IsEmpty)
        {
            var s = FindSlot(gpa) ?? throw new VmmException($"guest address 0x{gpa:x} is not backed by memory", "read");
            int n = (int)Math.Min((ulong)destination.Length, s.End - gpa);
            new ReadOnlySpan<byte>(s.HostPointer(gpa), n).CopyTo(destination);
            destination = destination[n..];
            gpa += (ulong)n;
        }
    }

    /// <summary>Writes guest memory as a device would: marks dirty pages and tells observers.</summary>
    public void Write(ulong gpa, ReadOnlySpan<byte> source)
    {
        ulong start = gpa, total = (ulong)source.Length;
        _missing?.EnsurePresent(gpa, total);
        while (!source.IsEmpty)
        {
            var s = FindSlot(gpa) ?? throw new VmmException($"guest address 0x{gpa:x} is not backed by memory", "write");
            int n = (int)Math.Min((ulong)source.Length, s.End - gpa);
            source[..n].CopyTo(new Span<byte>(s.HostPointer(gpa), n));
            if (s.LogDirty) s.Dirty.MarkRange(gpa - s.GuestPhysAddr, (ulong)n);
            source = source[n..];
            gpa += (ulong)n;
        }
        NotifyWrite(start, total);
    }

    /// <summary>Marks a range dirty that the VMM wrote through a host pointer, and tells observers.</summary>
    public void MarkWritten(ulong gpa, ulong length)
    {
        ulong end = gpa + length;
        for (ulong a = gpa; a < end;)
        {
            var s = FindSlot(a);
            if (s is null) break;
            ulong n = Math.Min(end - a, s.End - a);
            if (s.LogDirty) s.Dirty.MarkRange(a - s.GuestPhysAddr, n);
            a += n;
        }
        NotifyWrite(gpa, length);
    }

    private void NotifyWrite(ulong gpa, ulong length)
    {
        foreach (var o in _observers) o.OnGuestWrite(gpa, length);
    }

    /// <summary>
    /// The host memory behind [gpa, gpa+length) as a span, for a device that moves data straight between
    /// guest memory and a file (no copy). The range must lie in one slot; its pages are made present first
    /// (post-copy). A caller that writes through the span must call <see cref="MarkWritten"/> for the range
    /// afterwards, so that the dirty log and the emulator's decoded code see the write.
    /// </summary>
    /// <exception cref="VmmException">the range is not inside one slot.</exception>
    public Span<byte> HostSpan(ulong gpa, int length)
    {
        _missing?.EnsurePresent(gpa, (ulong)length);
        var s = FindSlot(gpa);
        if (s is null || length < 0 || (ulong)length > s.End - gpa)
            throw new VmmException($"guest range 0x{gpa:x}+0x{length:x} is not inside one memory slot", "host-span");
        // SAFETY: the range lies inside the slot's mapping (checked above), which stays mapped while the
        // VM exists; devices that hold such spans are stopped before the memory is released.
        return new Span<byte>(s.HostPointer(gpa), length);
    }

    /// <summary>The end of the slot that holds <paramref name="gpa"/>, or 0 when none does.</summary>
    public ulong SlotEnd(ulong gpa) => FindSlot(gpa)?.End ?? 0;

    /// <summary>An atomic, acquiring read of an aligned u16 that another CPU may be writing (a
    /// virtqueue index): never torn, and later reads are not moved before it.</summary>
    /// <exception cref="VmmException">the address is unaligned or not backed.</exception>
    public ushort ReadU16Acquire(ulong gpa)
    {
        _missing?.EnsurePresent(gpa, 2);
        var p = AlignedPointer(gpa, 2, "read");
        // SAFETY: p points at 2 aligned bytes inside a mapped slot (checked above); the slot stays
        // mapped while the VM exists, and a naturally aligned 16-bit load is atomic on x86-64.
        return Volatile.Read(ref *(ushort*)p);
    }

    /// <summary>An atomic, releasing write of an aligned u16 (a virtqueue index): earlier writes are
    /// visible before it. Marks the page dirty like <see cref="Write"/>.</summary>
    /// <exception cref="VmmException">the address is unaligned or not backed.</exception>
    public void WriteU16Release(ulong gpa, ushort value)
    {
        _missing?.EnsurePresent(gpa, 2);
        var p = AlignedPointer(gpa, 2, "write");
        // SAFETY: as in ReadU16Acquire; a naturally aligned 16-bit store is atomic on x86-64.
        Volatile.Write(ref *(ushort*)p, value);
        MarkWritten(gpa, 2);
    }

    private byte* AlignedPointer(ulong gpa, uint size, string operation)
    {
        if (gpa % size != 0) throw new VmmException($"guest address 0x{gpa:x} is not aligned to {size} bytes", operation);
        var s = FindSlot(gpa) ?? throw new VmmException($"guest address 0x{gpa:x} is not backed by memory", operation);
        return s.HostPointer(gpa);
    }

    public byte ReadU8(ulong gpa) { Span<byte> b = stackalloc byte[1]; Read(gpa, b); return b[0]; }
    public ushort ReadU16(ulong gpa) { Span<byte> b = stackalloc byte[2]; Read(gpa, b); return BinaryPrimitives.ReadUInt16LittleEndian(b); }
    public uint ReadU32(ulong gpa) { Span<byte> b = stackalloc byte[4]; Read(gpa, b); return BinaryPrimitives.ReadUInt32LittleEndian(b); }
    public ulong ReadU64(ulong gpa) { Span<byte> b = stackalloc byte[8]; Read(gpa, b); return BinaryPrimitives.ReadUInt64LittleEndian(b); }
    public void WriteU8(ulong gpa, byte v) => Write(gpa, [v]);
    public void WriteU16(ulong gpa, ushort v) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); Write(gpa, b); }
    public void WriteU32(ulong gpa, uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); Write(gpa, b); }
    public void WriteU64(ulong gpa, ulong v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); Write(gpa, b); }
}
