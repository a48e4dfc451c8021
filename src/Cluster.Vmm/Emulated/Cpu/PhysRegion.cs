using System.Runtime.CompilerServices;
using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Emulated.Cpu;

/// <summary>
/// A memory slot as the emulator sees it: its host pointer, dirty log and a bitmap of the pages
/// that hold decoded code (a write to such a page drops the decoded code of every vCPU).
/// </summary>
internal sealed unsafe class PhysRegion
{
    public PhysRegion(MemorySlot slot)
    {
        Slot = slot;
        Gpa = slot.GuestPhysAddr;
        End = slot.End;
        Host = slot.Memory.Pointer;
        // Pinned, so that TLB entries can point at the word holding their page's code bit.
        CodeBits = GC.AllocateArray<ulong>((int)(((slot.Size >> 12) + 63) / 64), pinned: true);
        DirtyLog = slot.LogDirty ? slot.Dirty : null;
    }

    public MemorySlot Slot { get; }
    public ulong Gpa { get; }
    public ulong End { get; }
    public byte* Host { get; }
    public ulong[] CodeBits { get; }
    public bool ReadOnly => Slot.ReadOnly;
    /// <summary>The slot's dirty bitmap when it logs dirty pages (a slot's flags never change), else null.</summary>
    public DirtyBitmap? DirtyLog { get; }

    /// <summary>The word of <see cref="CodeBits"/> that holds the code bit of page <paramref name="page"/>.</summary>
    public ulong* CodeWord(ulong page)
    {
        // SAFETY: CodeBits is pinned for the life of this object and page lies inside the slot, so the
        // index is inside the array; callers drop the pointer with the TLB entry that holds this region.
        return (ulong*)Unsafe.AsPointer(ref CodeBits[page >> 6]);
    }

    public bool Contains(ulong gpa) => gpa >= Gpa && gpa < End;

    /// <summary>Whether page <paramref name="page"/> (relative to the slot) holds decoded code.</summary>
    public bool HasCode(ulong page) => (Volatile.Read(ref CodeBits[page >> 6]) & (1UL << (int)(page & 63))) != 0;

    public void MarkCode(ulong page) => Interlocked.Or(ref CodeBits[page >> 6], 1UL << (int)(page & 63));

    /// <summary>Clears the code mark; true when it was set (the caller then drops the decoded code).</summary>
    public bool ClearCode(ulong page)
    {
        ulong bit = 1UL << (int)(page & 63);
        return (Interlocked.And(ref CodeBits[page >> 6], ~bit) & bit) != 0;
    }
}
