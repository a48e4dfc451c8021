using System.Runtime.CompilerServices;
using Cluster.Vmm.Memory;
using Cluster.Vmm.Emulated.Cpu;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Emulated;

/// <summary>The MMU: linear-to-physical translation with 4-level, PAE and 32-bit paging, a software TLB, MMIO.</summary>
public sealed unsafe partial class EmulatedVcpu
{
    private const int TlbSize = 1024, TlbMask = TlbSize - 1;
    private const ulong PhysAddrMask = 0x000F_FFFF_FFFF_F000UL;

    private enum Access { Read, Write, Fetch }

    private struct TlbEntry
    {
        public ulong Tag;
        public byte* Host;
        public PhysRegion Region;
        public ulong RegionPage;
        public bool Global;
        /// <summary>The word of the region's code bitmap holding this page's bit, and the bit (write entries).</summary>
        public ulong* CodeWord;
        public ulong CodeBit;
        /// <summary>The slot's dirty log when it is on, else null.</summary>
        public DirtyBitmap? Dirty;
    }

    private struct ITlbEntry
    {
        public ulong Tag;
        public CodePage Page;
        public bool Global;
    }

    private readonly TlbEntry[] _rtlb = new TlbEntry[TlbSize];
    private readonly TlbEntry[] _wtlb = new TlbEntry[TlbSize];
    private readonly ITlbEntry[] _itlb = new ITlbEntry[TlbSize];
    /// <summary>Low bits of TLB tags: 1 (valid) | 2 when CPL is 3, so user and supervisor lookups never share entries.</summary>
    private ulong _tlbKey = 1;
    private ulong _linMask = 0xFFFF_FFFF;

    /// <summary>Drops translations; global ones survive unless <paramref name="all"/>.</summary>
    internal void FlushTlb(bool all)
    {
        _epoch++;
        bool keepGlobal = !all && (_cr4 & CpuBits.Cr4Pge) != 0;
        for (int i = 0; i < TlbSize; i++)
        {
            if (!keepGlobal || !_rtlb[i].Global) _rtlb[i].Tag = 0;
            if (!keepGlobal || !_wtlb[i].Global) _wtlb[i].Tag = 0;
            if (!keepGlobal || !_itlb[i].Global) _itlb[i].Tag = 0;
        }
    }

    private void FlushTlbPage(ulong lin)
    {
        _epoch++;
        int i = (int)(lin >> 12) & TlbMask;
        _rtlb[i].Tag = 0;
        _wtlb[i].Tag = 0;
        _itlb[i].Tag = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong ReadMem(ulong lin, int size)
    {
        ref var e = ref _rtlb[(int)(lin >> 12) & TlbMask];
        uint off = (uint)lin & 0xFFF;
        if (e.Tag == ((lin & ~0xFFFUL) | _tlbKey) && off <= 4096 - size)
        {
            // SAFETY: the entry maps a whole 4 KiB page of a live slot and off + size <= 4096.
            byte* p = e.Host + off;
            return size switch { 1 => *p, 2 => *(ushort*)p, 4 => *(uint*)p, _ => *(ulong*)p };
        }
        return ReadSlow(lin, size);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void WriteMem(ulong lin, int size, ulong v)
    {
        ref var e = ref _wtlb[(int)(lin >> 12) & TlbMask];
        uint off = (uint)lin & 0xFFF;
        if (e.Tag == ((lin & ~0xFFFUL) | _tlbKey) && off <= 4096 - size)
        {
            // SAFETY: the entry maps a whole writable 4 KiB page of a live slot and off + size <= 4096.
            byte* p = e.Host + off;
            switch (size)
            {
                case 1: *p = (byte)v; break;
                case 2: *(ushort*)p = (ushort)v; break;
                case 4: *(uint*)p = (uint)v; break;
                default: *(ulong*)p = v; break;
            }
            e.Dirty?.Mark(e.RegionPage);
            // SAFETY: CodeWord points into the region's pinned code bitmap, alive as long as e.Region.
            if ((Volatile.Read(ref *e.CodeWord) & e.CodeBit) != 0) OnCodeWrite(e.Region, e.RegionPage);
            return;
        }
        WriteSlow(lin, size, v);
    }

    private ulong ReadSlow(ulong lin, int size)
    {
        if ((lin & 0xFFF) + (ulong)size > 4096)
        {
            ulong v = 0;
            for (int i = 0; i < size; i++) v |= ReadMem((lin + (ulong)i) & _linMask, 1) << (8 * i);
            return v;
        }
        ulong gpa = Translate(lin, Access.Read);
        var reg = _vm.ResolveRegion(gpa);
        if (reg is null) return MmioRead(gpa, size);
        FillTlb(ref _rtlb[(int)(lin >> 12) & TlbMask], lin, gpa, reg);
        return ReadMem(lin, size);
    }

    /// <summary>Points a TLB entry for the page of <paramref name="lin"/> at the RAM page holding <paramref name="gpa"/>.</summary>
    private void FillTlb(ref TlbEntry e, ulong lin, ulong gpa, PhysRegion reg)
    {
        ulong page = (gpa - reg.Gpa) >> 12;
        e.Tag = (lin & ~0xFFFUL) | _tlbKey;
        // SAFETY: page lies inside the region (gpa is contained in it), so the host page is mapped.
        e.Host = reg.Host + (page << 12);
        e.Region = reg;
        e.RegionPage = page;
        e.Global = _lastGlobal;
        e.CodeWord = reg.CodeWord(page);
        e.CodeBit = 1UL << (int)(page & 63);
        e.Dirty = reg.DirtyLog;
    }

    /// <summary>
    /// The host address of <paramref name="lin"/> for reading through the TLB, filled by a page walk on
    /// a miss (which raises #PF); null when the page is not RAM (MMIO), so the caller takes the slow path.
    /// </summary>
    private byte* ReadHost(ulong lin)
    {
        ref var e = ref _rtlb[(int)(lin >> 12) & TlbMask];
        if (e.Tag != ((lin & ~0xFFFUL) | _tlbKey))
        {
            ulong gpa = Translate(lin, Access.Read);
            var reg = _vm.ResolveRegion(gpa);
            if (reg is null) return null;
            FillTlb(ref e, lin, gpa, reg);
        }
        // SAFETY: the entry maps a whole 4 KiB page of a live slot; the offset is inside that page.
        return e.Host + (lin & 0xFFF);
    }

    /// <summary>
    /// The host address of <paramref name="lin"/> for writing through the TLB (a miss walks the page
    /// tables, sets A/D bits and may raise #PF), with the slot and slot-relative page that the caller
    /// marks dirty after writing; null when the page is MMIO or read-only.
    /// </summary>
    private byte* WriteHost(ulong lin, out PhysRegion region, out ulong regionPage)
    {
        ref var e = ref _wtlb[(int)(lin >> 12) & TlbMask];
        if (e.Tag != ((lin & ~0xFFFUL) | _tlbKey))
        {
            ulong gpa = Translate(lin, Access.Write);
            var reg = _vm.ResolveRegion(gpa);
            if (reg is null || reg.ReadOnly)
            {
                region = null!;
                regionPage = 0;
                return null;
            }
            FillTlb(ref e, lin, gpa, reg);
        }
        region = e.Region;
        regionPage = e.RegionPage;
        // SAFETY: the entry maps a whole writable 4 KiB page of a live slot; the offset is inside that page.
        return e.Host + (lin & 0xFFF);
    }

    /// <summary>Logs a write to a RAM page done outside <see cref="WriteMem"/>: dirty bit and decoded-code invalidation.</summary>
    private void NoteWrite(PhysRegion reg, ulong regionPage)
    {
        reg.DirtyLog?.Mark(regionPage);
        if (reg.HasCode(regionPage)) OnCodeWrite(reg, regionPage);
    }

    private void WriteSlow(ulong lin, int size, ulong v)
    {
        if ((lin & 0xFFF) + (ulong)size > 4096)
        {
            // Translate both pages first so that a fault leaves memory untouched.
            Translate(lin, Access.Write);
            Translate((lin + (ulong)size - 1) & _linMask, Access.Write);
            for (int i = 0; i < size; i++) WriteMem((lin + (ulong)i) & _linMask, 1, v >> (8 * i));
            return;
        }
        ulong gpa = Translate(lin, Access.Write);
        var reg = _vm.ResolveRegion(gpa);
        if (reg is null || reg.ReadOnly)
        {
            MmioWrite(gpa, size, v);
            return;
        }
        FillTlb(ref _wtlb[(int)(lin >> 12) & TlbMask], lin, gpa, reg);
        WriteMem(lin, size, v);
    }

    private ulong MmioRead(ulong gpa, int size) => TakeRead(gpa, size);

    private void MmioWrite(ulong gpa, int size, ulong v) => SetExit(VcpuExit.MmioWrite(gpa, size, v & Mask(size)));

    private void OnCodeWrite(PhysRegion reg, ulong page)
    {
        if (reg.ClearCode(page)) _vm.InvalidateCode(reg.Gpa + (page << 12));
        _stop = true;
    }

    /// <summary>Reads guest-physical memory for page walks and descriptor tables; unbacked reads as all ones.</summary>
    private ulong PhysRead(ulong gpa, int size)
    {
        var reg = _vm.ResolveRegion(gpa);
        if (reg is null || gpa + (ulong)size > reg.End) return ulong.MaxValue;
        // SAFETY: the range [gpa, gpa+size) was checked to lie inside the region.
        byte* p = reg.Host + (gpa - reg.Gpa);
        return size == 8 ? *(ulong*)p : *(uint*)p;
    }

    /// <summary>Sets bits of a paging-structure entry atomically (accessed/dirty) and logs the page as written.</summary>
    private void PhysSetBits(ulong gpa, int size, ulong bits)
    {
        var reg = _vm.ResolveRegion(gpa);
        if (reg is null || reg.ReadOnly || gpa + (ulong)size > reg.End) return;
        // SAFETY: the entry lies inside the region and is naturally aligned (page tables hold aligned entries).
        byte* p = reg.Host + (gpa - reg.Gpa);
        if (size == 8) Interlocked.Or(ref *(ulong*)p, bits);
        else Interlocked.Or(ref *(uint*)p, (uint)bits);
        reg.DirtyLog?.Mark((gpa - reg.Gpa) >> 12);
    }

    private bool _lastGlobal;

    /// <summary>Linear to guest-physical, walking the page tables; raises #PF (or #GP for non-canonical).</summary>
    private ulong Translate(ulong lin, Access acc)
    {
        _lastGlobal = false;
        if ((_cr0 & CpuBits.Cr0Pg) == 0) return lin & _linMask;
        bool user = _cpl == 3;
        bool write = acc == Access.Write;
        bool nxe = (_efer & CpuBits.EferNxe) != 0;
        bool rw = true, us = true, nx = false;
        ulong leaf, pageMask, leafAddr;
        int leafSize;
        if ((_efer & CpuBits.EferLma) != 0 || (_cr4 & CpuBits.Cr4Pae) != 0)
        {
            bool lm = (_efer & CpuBits.EferLma) != 0;
            ulong table;
            int shift, levels;
            if (lm)
            {
                if ((ulong)((long)(lin << 16) >> 16) != lin) throw GuestFault.Gp();
                table = _cr3 & PhysAddrMask;
                shift = 39;
                levels = 4;
            }
            else
            {
                ulong pdpte = PhysRead((_cr3 & 0xFFFF_FFE0) + ((lin >> 30) & 3) * 8, 8);
                if ((pdpte & 1) == 0) throw PageFault(lin, acc, false, false);
                table = pdpte & PhysAddrMask;
                shift = 21;
                levels = 2;
            }
            while (true)
            {
                ulong ea = table + ((lin >> shift) & 511) * 8;
                ulong pte = PhysRead(ea, 8);
                if ((pte & 1) == 0) throw PageFault(lin, acc, false, false);
                if (!nxe && (pte >> 63) != 0) throw PageFault(lin, acc, true, true);
                rw &= (pte & 2) != 0;
                us &= (pte & 4) != 0;
                nx |= (pte >> 63) != 0;
                bool large = levels > 1 && (pte & 0x80) != 0 && (levels == 2 || (levels == 3 && lm));
                if ((pte & 0x20) == 0 && !(levels == 1 || large)) PhysSetBits(ea, 8, 0x20);
                if (levels == 1 || large)
                {
                    leaf = pte;
                    leafAddr = ea;
                    leafSize = 8;
                    pageMask = (1UL << shift) - 1;
                    break;
                }
                table = pte & PhysAddrMask;
                shift -= 9;
                levels--;
            }
        }
        else
        {
            ulong pdeAddr = (_cr3 & 0xFFFF_F000) + ((lin >> 22) & 1023) * 4;
            ulong pde = PhysRead(pdeAddr, 4) & 0xFFFF_FFFF;
            if ((pde & 1) == 0) throw PageFault(lin, acc, false, false);
            rw &= (pde & 2) != 0;
            us &= (pde & 4) != 0;
            if ((pde & 0x80) != 0 && (_cr4 & CpuBits.Cr4Pse) != 0)
            {
                leaf = pde & 0xFFC0_0000;
                leafAddr = pdeAddr;
                pageMask = 0x3F_FFFF;
                leaf |= pde & 0xFFF;
            }
            else
            {
                if ((pde & 0x20) == 0) PhysSetBits(pdeAddr, 4, 0x20);
                ulong pteAddr = (pde & 0xFFFF_F000) + ((lin >> 12) & 1023) * 4;
                ulong pte = PhysRead(pteAddr, 4) & 0xFFFF_FFFF;
                if ((pte & 1) == 0) throw PageFault(lin, acc, false, false);
                rw &= (pte & 2) != 0;
                us &= (pte & 4) != 0;
                leaf = pte;
                leafAddr = pteAddr;
                pageMask = 0xFFF;
            }
            leafSize = 4;
        }
        if (user && !us) throw PageFault(lin, acc, true, false);
        if (write && !rw && (user || (_cr0 & CpuBits.Cr0Wp) != 0)) throw PageFault(lin, acc, true, false);
        if (acc == Access.Fetch && nx && nxe) throw PageFault(lin, acc, true, false);
        ulong set = 0x20;
        if (write) set |= 0x40;
        if ((leaf & set) != set) PhysSetBits(leafAddr, leafSize, set);
        _lastGlobal = (leaf & 0x100) != 0;
        return ((leaf & PhysAddrMask & ~pageMask) | (lin & pageMask)) & 0x000F_FFFF_FFFF_FFFFUL;
    }

    private GuestFault PageFault(ulong lin, Access acc, bool present, bool rsvd)
    {
        _cr2 = lin;
        uint code = 0;
        if (present) code |= 1;
        if (acc == Access.Write) code |= 2;
        if (_cpl == 3) code |= 4;
        if (rsvd) code |= 8;
        if (acc == Access.Fetch && (_efer & CpuBits.EferNxe) != 0) code |= 16;
        return new GuestFault(14, code, true);
    }
}
