using Cluster.Vmm.Emulated.Cpu;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Emulated;

/// <summary>Interrupt and exception delivery through the IVT/IDT, and the returns from them.</summary>
public sealed unsafe partial class EmulatedVcpu
{
    private const ulong NT = 0x4000, RF = 0x10000, VM = 0x20000, AC = 0x40000;

    /// <summary>
    /// Delivers vector <paramref name="vec"/>; RIP must hold the return address (the faulting
    /// instruction for faults, the next one for traps and INT n). Throws a <see cref="GuestFault"/> when
    /// delivery itself faults (the caller turns that into #DF or a triple fault).
    /// </summary>
    private void DeliverInterrupt(int vec, uint err, bool hasErr, bool soft)
    {
        _halted = false;
        ulong flags = GetFlags();
        if ((_cr0 & CpuBits.Cr0Pe) == 0)
        {
            if ((ulong)(vec * 4 + 3) > _idt.Limit) throw GuestFault.Gp((uint)(vec * 8 + 2));
            ulong ent = ReadSys(_idt.Base + (ulong)vec * 4, 4);
            Push(flags & 0xFFFF, 2);
            Push(_seg[CS].Selector, 2);
            Push(_rip & 0xFFFF, 2);
            SetFlags(flags & ~(IF | TF | AC));
            LoadSegment(CS, (ushort)(ent >> 16));
            _rip = ent & 0xFFFF;
            return;
        }
        bool lm = (_efer & CpuBits.EferLma) != 0;
        int gsz = lm ? 16 : 8;
        uint idtErr = (uint)(vec * 8 + 2);
        if ((ulong)(vec * gsz + gsz - 1) > _idt.Limit) throw GuestFault.Gp(idtErr);
        ulong lo = ReadSys(_idt.Base + (ulong)(vec * gsz), 8);
        ulong hi = lm ? ReadSys(_idt.Base + (ulong)(vec * gsz) + 8, 8) : 0;
        int type = (int)((lo >> 40) & 0xF);
        int dpl = (int)((lo >> 45) & 3);
        if (lm ? type is not (0xE or 0xF) : type is not (0xE or 0xF or 6 or 7)) throw GuestFault.Gp(idtErr);
        if (soft && dpl < _cpl) throw GuestFault.Gp(idtErr);
        if (((lo >> 47) & 1) == 0) throw new GuestFault(11, idtErr, true);
        bool trap = (type & 1) != 0;
        ushort sel = (ushort)(lo >> 16);
        ulong target = (lo & 0xFFFF) | ((lo >> 32) & 0xFFFF_0000) | (hi << 32);
        if (sel < 4) throw GuestFault.Gp(0);
        var cs = ReadDescriptor(sel);
        if (!cs.S || (cs.Type & 8) == 0) throw GuestFault.Gp((uint)(sel & ~3));
        if (!cs.Present) throw new GuestFault(11, (uint)(sel & ~3), true);
        int ncpl = (cs.Type & 4) != 0 ? _cpl : cs.Dpl;
        cs.Selector = (ushort)((sel & ~3) | ncpl);
        ulong oldRsp = _r[RSP];
        ushort oldSs = _seg[SS].Selector, oldCs = _seg[CS].Selector;
        if (lm)
        {
            int ist = (int)((lo >> 32) & 7);
            ulong rsp;
            if (ist != 0) rsp = ReadSys(_tr.Base + 0x24 + (ulong)(ist - 1) * 8, 8);
            else if (ncpl < _cpl) rsp = ReadSys(_tr.Base + 4 + (ulong)ncpl * 8, 8);
            else rsp = oldRsp;
            rsp &= ~0xFUL;
            WriteSys(rsp - 8, 8, oldSs);
            WriteSys(rsp - 16, 8, oldRsp);
            WriteSys(rsp - 24, 8, flags);
            WriteSys(rsp - 32, 8, oldCs);
            WriteSys(rsp - 40, 8, _rip);
            rsp -= 40;
            if (hasErr)
            {
                WriteSys(rsp - 8, 8, err);
                rsp -= 8;
            }
            if (ncpl < _cpl) _seg[SS] = new Segment { Selector = (ushort)ncpl, Unusable = true, Dpl = (byte)ncpl };
            _r[RSP] = rsp;
        }
        else
        {
            int psz = type >= 0xE ? 4 : 2;
            var newSs = _seg[SS];
            ulong esp = oldRsp;
            bool switchStack = ncpl < _cpl;
            if (switchStack)
            {
                esp = ReadSys(_tr.Base + 4 + (ulong)ncpl * 8, 4);
                ushort ssSel = (ushort)ReadSys(_tr.Base + 8 + (ulong)ncpl * 8, 2);
                newSs = ReadDescriptor(ssSel);
            }
            ulong m = newSs.Db ? 0xFFFF_FFFFUL : 0xFFFF;
            void PushTo(ulong v)
            {
                esp = (esp - (ulong)psz) & m;
                WriteSys(newSs.Base + esp, psz, v);
            }
            if (switchStack)
            {
                PushTo(oldSs);
                PushTo(oldRsp);
            }
            PushTo(flags);
            PushTo(oldCs);
            PushTo(_rip);
            if (hasErr) PushTo(err);
            _seg[SS] = newSs;
            _r[RSP] = newSs.Db ? esp : (_r[RSP] & ~0xFFFFUL) | esp;
        }
        _seg[CS] = cs;
        _rip = target;
        flags &= ~(TF | NT | RF | VM);
        if (!trap) flags &= ~IF;
        SetFlags(flags);
        UpdateMode();
    }

    private void Iret(int s)
    {
        if ((_cr0 & CpuBits.Cr0Pe) == 0)
        {
            ulong ip = Pop(s), csr = Pop(s), fl = Pop(s);
            LoadSegment(CS, (ushort)csr);
            _rip = ip;
            SetFlags(s == 2 ? (GetFlags() & ~0xFFFFUL) | (fl & 0xFFFF) : fl);
            return;
        }
        ulong nip = Pop(s), ncs = Pop(s) & 0xFFFF, nfl = Pop(s);
        bool popStack = _mode64 || (int)(ncs & 3) > _cpl;
        ulong nsp = 0, nss = 0;
        if (popStack)
        {
            nsp = Pop(s);
            nss = Pop(s) & 0xFFFF;
        }
        Popf(nfl, s);
        LoadSegment(CS, (ushort)ncs);
        if (popStack)
        {
            if ((nss & ~3UL) == 0 && (_efer & CpuBits.EferLma) != 0)
                _seg[SS] = new Segment { Selector = (ushort)nss, Unusable = true, Dpl = (byte)(nss & 3) };
            else LoadSegment(SS, (ushort)nss);
            UpdateMode();
            _r[RSP] = _stackSize == 8 ? nsp : _stackSize == 4 ? (uint)nsp : (_r[RSP] & ~0xFFFFUL) | (nsp & 0xFFFF);
        }
        _rip = _mode64 ? nip : nip & Mask(s);
    }

    private void Syscall()
    {
        if ((_efer & CpuBits.EferSce) == 0) throw GuestFault.Ud();
        ulong flags = GetFlags();
        ushort sel = (ushort)((_star >> 32) & 0xFFFC);
        if ((_efer & CpuBits.EferLma) != 0)
        {
            _r[RCX] = _rip;
            _r[11] = flags;
            _rip = _mode64 ? _lstar : _cstar;
            _seg[CS] = FlatSegment(sel, true, true, 0);
            SetFlags(flags & ~_sfmask & ~RF);
        }
        else
        {
            _r[RCX] = (uint)_rip;
            _rip = (uint)_star;
            _seg[CS] = FlatSegment(sel, true, false, 0);
            SetFlags(flags & ~(IF | VM | RF));
        }
        _seg[SS] = FlatSegment((ushort)(sel + 8), false, false, 0);
        UpdateMode();
    }

    private void Sysret(int s)
    {
        if ((_efer & CpuBits.EferSce) == 0) throw GuestFault.Ud();
        if (_cpl != 0 || (_cr0 & CpuBits.Cr0Pe) == 0) throw GuestFault.Gp();
        ushort sel = (ushort)((_star >> 48) & 0xFFFF);
        if (s == 8)
        {
            _seg[CS] = FlatSegment((ushort)((sel + 16) | 3), true, true, 3);
            _rip = _r[RCX];
        }
        else
        {
            _seg[CS] = FlatSegment((ushort)(sel | 3), true, false, 3);
            _rip = (uint)_r[RCX];
        }
        if ((_efer & CpuBits.EferLma) != 0) SetFlags((_r[11] & 0x3C7FD7) | 2);
        else SetFlags(GetFlags() | IF);
        _seg[SS] = FlatSegment((ushort)((sel + 8) | 3), false, false, 3);
        UpdateMode();
    }
}
