using Cluster.Vmm.Emulated.Cpu;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Emulated;

/// <summary>Segment loading from descriptor tables, and supervisor-mode accesses to system structures.</summary>
public sealed unsafe partial class EmulatedVcpu
{
    private ulong ReadSys(ulong lin, int size)
    {
        int cpl = _cpl;
        ulong key = _tlbKey;
        _cpl = 0;
        _tlbKey = 1;
        try
        {
            return ReadMem(lin & _linMask, size);
        }
        finally
        {
            _cpl = cpl;
            _tlbKey = key;
        }
    }

    private void WriteSys(ulong lin, int size, ulong v)
    {
        int cpl = _cpl;
        ulong key = _tlbKey;
        _cpl = 0;
        _tlbKey = 1;
        try
        {
            WriteMem(lin & _linMask, size, v);
        }
        finally
        {
            _cpl = cpl;
            _tlbKey = key;
        }
    }

    internal static Segment DecodeDescriptor(ulong d, ushort selector)
    {
        uint limit = (uint)((d & 0xFFFF) | ((d >> 32) & 0xF0000));
        bool g = ((d >> 55) & 1) != 0;
        if (g) limit = (limit << 12) | 0xFFF;
        return new Segment
        {
            Selector = selector,
            Base = ((d >> 16) & 0xFF_FFFF) | ((d >> 56) << 24),
            Limit = limit,
            Type = (byte)((d >> 40) & 0xF),
            S = ((d >> 44) & 1) != 0,
            Dpl = (byte)((d >> 45) & 3),
            Present = ((d >> 47) & 1) != 0,
            Avl = ((d >> 52) & 1) != 0,
            L = ((d >> 53) & 1) != 0,
            Db = ((d >> 54) & 1) != 0,
            G = g,
        };
    }

    /// <summary>The linear address of descriptor <paramref name="sel"/>; #GP(selector) when outside its table.</summary>
    private ulong DescriptorAddress(ushort sel, int bytes)
    {
        ulong tbase, limit;
        if ((sel & 4) != 0)
        {
            tbase = _ldt.Base;
            limit = _ldt.Unusable ? 0 : _ldt.Limit;
        }
        else
        {
            tbase = _gdt.Base;
            limit = _gdt.Limit;
        }
        ulong idx = (ulong)(sel & ~7);
        if (idx + (ulong)bytes - 1 > limit) throw GuestFault.Gp((uint)(sel & ~3));
        return tbase + idx;
    }

    private Segment ReadDescriptor(ushort sel) => DecodeDescriptor(ReadSys(DescriptorAddress(sel, 8), 8), sel);

    /// <summary>Loads a segment register as mov/pop/far jumps do (real mode: base = selector * 16).</summary>
    private void LoadSegment(int idx, ushort sel)
    {
        if ((_cr0 & CpuBits.Cr0Pe) == 0)
        {
            ref var sr = ref _seg[idx];
            sr.Selector = sel;
            sr.Base = (ulong)sel << 4;
            if (idx == CS) sr.Db = false;
            UpdateMode();
            return;
        }
        if ((sel & ~3) == 0)
        {
            if (idx == CS || (idx == SS && !_mode64)) throw GuestFault.Gp();
            _seg[idx] = new Segment { Selector = sel, Unusable = true, Dpl = (byte)(sel & 3) };
            UpdateMode();
            return;
        }
        var d = ReadDescriptor(sel);
        if (!d.S) throw GuestFault.Gp((uint)(sel & ~3));
        if (idx == CS && (d.Type & 8) == 0) throw GuestFault.Gp((uint)(sel & ~3));
        if (idx == SS && ((d.Type & 8) != 0 || (d.Type & 2) == 0)) throw GuestFault.Gp((uint)(sel & ~3));
        if (!d.Present) throw new GuestFault(idx == SS ? 12 : 11, (uint)(sel & ~3), true);
        if (idx == CS) d.Selector = (ushort)((sel & ~3) | d.Dpl);
        _seg[idx] = d;
        UpdateMode();
    }

    /// <summary>A flat segment as SYSCALL/SYSRET load it.</summary>
    private static Segment FlatSegment(ushort sel, bool code, bool long64, byte dpl) => new()
    {
        Selector = sel,
        Base = 0,
        Limit = 0xFFFF_FFFF,
        Type = code ? (byte)0xB : (byte)3,
        S = true,
        Dpl = dpl,
        Present = true,
        L = long64,
        Db = !long64,
        G = true,
    };

    /// <summary>LTR/LLDT: loads a system segment (16-byte descriptors in long mode).</summary>
    private Segment LoadSystemSegment(ushort sel, bool tss)
    {
        if ((sel & ~3) == 0)
        {
            if (tss) throw GuestFault.Gp();
            return new Segment { Selector = sel, Unusable = true };
        }
        if ((sel & 4) != 0) throw GuestFault.Gp((uint)(sel & ~3));
        bool lm = (_efer & CpuBits.EferLma) != 0;
        ulong addr = DescriptorAddress(sel, lm ? 16 : 8);
        ulong lo = ReadSys(addr, 8);
        var d = DecodeDescriptor(lo, sel);
        if (lm) d.Base |= ReadSys(addr + 8, 4) << 32;
        if (d.S || (tss ? (d.Type & 0xD) != 9 : d.Type != 2)) throw GuestFault.Gp((uint)(sel & ~3));
        if (!d.Present) throw new GuestFault(11, (uint)(sel & ~3), true);
        if (tss)
        {
            WriteSys(addr + 5, 1, (lo >> 40) | 2);
            d.Type |= 2;
        }
        return d;
    }
}
