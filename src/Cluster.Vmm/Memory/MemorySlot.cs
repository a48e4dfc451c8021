namespace Cluster.Vmm.Memory;

/// <summary>Flags of a memory slot, as KVM's KVM_MEM_* flags.</summary>
[Flags]
public enum MemoryRegionFlags : uint
{
    None = 0,
    /// <summary>KVM_MEM_LOG_DIRTY_PAGES: record guest writes in the slot's dirty log.</summary>
    LogDirtyPages = 1,
    /// <summary>KVM_MEM_READONLY: guest writes exit as MMIO.</summary>
    ReadOnly = 2,
}

/// <summary>
/// One guest-physical memory slot: <see cref="Size"/> bytes at <see cref="GuestPhysAddr"/> backed by
/// <see cref="Memory"/>. <see cref="Dirty"/> holds the marks that the VMM makes itself (device
/// writes, and every write on the emulated backend) while dirty logging is on.
/// </summary>
public sealed unsafe class MemorySlot
{
    public MemorySlot(int slot, ulong guestPhysAddr, HostMemory memory, MemoryRegionFlags flags)
    {
        Slot = slot;
        GuestPhysAddr = guestPhysAddr;
        Memory = memory;
        Flags = flags;
        Dirty = new DirtyBitmap(memory.Size >> GuestAddress.PageShift);
    }

    public int Slot { get; }
    public ulong GuestPhysAddr { get; }
    public ulong Size => Memory.Size;
    public ulong End => GuestPhysAddr + Size;
    public HostMemory Memory { get; }
    public MemoryRegionFlags Flags { get; internal set; }
    public DirtyBitmap Dirty { get; }

    /// <summary>Whether writes to this slot are being logged (read on the hot path).</summary>
    public bool LogDirty => (Flags & MemoryRegionFlags.LogDirtyPages) != 0;
    public bool ReadOnly => (Flags & MemoryRegionFlags.ReadOnly) != 0;

    public bool Contains(ulong gpa) => gpa >= GuestPhysAddr && gpa - GuestPhysAddr < Size;

    /// <summary>The host address of a guest-physical address inside this slot.</summary>
    public byte* HostPointer(ulong gpa) => Memory.Pointer + (gpa - GuestPhysAddr);
}
