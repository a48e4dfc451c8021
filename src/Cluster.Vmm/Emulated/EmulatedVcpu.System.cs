using System.Diagnostics;
using Cluster.Vmm.Emulated.Cpu;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Emulated;

/// <summary>System instructions: control registers, MSRs, CPUID, descriptor tables, far transfers, interrupts.</summary>
public sealed unsafe partial class EmulatedVcpu
{
    /// <summary>The nominal TSC frequency reported to guests (1 GHz: one tick per nanosecond).</summary>
    public const ulong TscHz = 1_000_000_000;

    private ulong _star, _lstar, _cstar, _sfmask, _kernelGsBase, _tscAux, _pat, _sysenterCs, _sysenterEsp, _sysenterEip, _miscEnable = 1;
    private ulong _tscOffset;

    private static readonly uint[] MsrList =
    [
        Msr.Tsc, Msr.ApicBase, Msr.SysenterCs, Msr.SysenterEsp, Msr.SysenterEip, Msr.MiscEnable, Msr.Pat, Msr.Efer,
        Msr.Star, Msr.Lstar, Msr.Cstar, Msr.Sfmask, Msr.FsBase, Msr.GsBase, Msr.KernelGsBase, Msr.TscAux,
    ];

    public IReadOnlyList<uint> SupportedMsrs => MsrList;

    private static ulong HostNanos() => (ulong)((UInt128)(ulong)Stopwatch.GetTimestamp() * TscHz / (ulong)Stopwatch.Frequency);

    private ulong Tsc => HostNanos() + _tscOffset;

    private void RequireCpl0()
    {
        if (_cpl != 0) throw GuestFault.Gp();
    }

    private void ExecuteSystem(ref MicroOp op)
    {
        int s = op.Size;
        switch (op.Op)
        {
            case Op.MovToSeg:
                if (op.R0 == CS) throw GuestFault.Ud();
                LoadSegment(op.R0, (ushort)Get(ref op, op.K1, op.R1, 2));
                if (op.R0 == SS) _shadow = true;
                return;
            case Op.MovFromSeg:
                Put(op.K0, op.R0, op.K0 == OpndKind.Mem ? 2 : s, _seg[op.R1].Selector, op.K0 == OpndKind.Mem ? Lin(ref op) : 0);
                return;
            case Op.PushSeg:
                Push(_seg[op.R0].Selector, s);
                return;
            case Op.PopSeg:
                LoadSegment(op.R0, (ushort)Pop(s));
                if (op.R0 == SS) _shadow = true;
                return;
            case Op.Pusha:
                {
                    ulong sp = _r[RSP];
                    for (int r = 0; r < 8; r++) Push(r == RSP ? sp : _r[r], s);
                    return;
                }
            case Op.Popa:
                for (int r = 7; r >= 0; r--)
                {
                    ulong v = Pop(s);
                    if (r != RSP) SetReg(r, s, v);
                }
                return;
            case Op.MovToCr:
                RequireCpl0();
                WriteCr(op.R0, _r[op.R1] & Mask(s));
                return;
            case Op.MovFromCr:
                RequireCpl0();
                SetReg(op.R0, s, op.R1 switch
                {
                    0 => _cr0, 2 => _cr2, 3 => _cr3, 4 => _cr4, 8 => _cr8,
                    _ => throw GuestFault.Ud(),
                });
                return;
            case Op.MovToDr:
                RequireCpl0();
                _dr[DrIndex(op.R0)] = _r[op.R1] & Mask(s);
                return;
            case Op.MovFromDr:
                RequireCpl0();
                SetReg(op.R0, s, _dr[DrIndex(op.R1)]);
                return;
            case Op.JmpFar:
                LoadSegment(CS, (ushort)op.Imm2);
                _rip = op.Imm;
                return;
            case Op.JmpFarInd:
                {
                    ulong lin = Lin(ref op);
                    ulong off = ReadMem(lin, s);
                    ushort sel = (ushort)ReadMem((lin + (ulong)s) & _linMask, 2);
                    LoadSegment(CS, sel);
                    _rip = off;
                    return;
                }
            case Op.CallFar:
            case Op.CallFarInd:
                {
                    ulong off;
                    ushort sel;
                    if (op.Op == Op.CallFar)
                    {
                        off = op.Imm;
                        sel = (ushort)op.Imm2;
                    }
                    else
                    {
                        ulong lin = Lin(ref op);
                        off = ReadMem(lin, s);
                        sel = (ushort)ReadMem((lin + (ulong)s) & _linMask, 2);
                    }
                    ushort oldCs = _seg[CS].Selector;
                    ulong ret = _rip;
                    Push(oldCs, s);
                    Push(ret, s);
                    LoadSegment(CS, sel);
                    _rip = off;
                    return;
                }
            case Op.RetFar:
                {
                    ulong ip = Pop(s), csSel = Pop(s) & 0xFFFF;
                    if (op.K0 == OpndKind.Imm) SetStackPtr(_r[RSP] + (op.Imm & 0xFFFF));
                    if ((_cr0 & CpuBits.Cr0Pe) != 0 && (int)(csSel & 3) > _cpl)
                    {
                        ulong sp = Pop(s), ssSel = Pop(s) & 0xFFFF;
                        LoadSegment(CS, (ushort)csSel);
                        LoadSegment(SS, (ushort)ssSel);
                        SetStackPtr(sp);
                    }
                    else LoadSegment(CS, (ushort)csSel);
                    _rip = _mode64 ? ip : ip & Mask(s);
                    return;
                }
            case Op.Iret:
                Iret(s);
                return;
            case Op.Int:
                DeliverInterrupt((int)(op.Imm & 0xFF), 0, false, true);
                return;
            case Op.Int3:
                DeliverInterrupt(3, 0, false, true);
                return;
            case Op.Into:
                if (Of) DeliverInterrupt(4, 0, false, true);
                return;
            case Op.Syscall:
                Syscall();
                return;
            case Op.Sysret:
                Sysret(s);
                return;
            case Op.Hlt:
                RequireCpl0();
                if ((_flags & IF) != 0)
                {
                    _halted = true;
                    _stop = true;
                }
                else SetExit(VcpuExit.Hlt);
                return;
            case Op.Ud2:
                throw GuestFault.Ud();
            case Op.Cli:
                CheckIoPrivilege();
                _flags &= ~IF;
                return;
            case Op.Sti:
                CheckIoPrivilege();
                if ((_flags & IF) == 0) _shadow = true;
                _flags |= IF;
                return;
            case Op.Cpuid:
                Cpuid((uint)_r[RAX], (uint)_r[RCX]);
                return;
            case Op.Rdtsc:
            case Op.Rdtscp:
                {
                    ulong t = Tsc;
                    _r[RAX] = (uint)t;
                    _r[RDX] = t >> 32;
                    if (op.Op == Op.Rdtscp) _r[RCX] = (uint)_tscAux;
                    return;
                }
            case Op.Rdmsr:
                {
                    RequireCpl0();
                    if (!TryReadMsr((uint)_r[RCX], out ulong v)) throw GuestFault.Gp();
                    _r[RAX] = (uint)v;
                    _r[RDX] = v >> 32;
                    return;
                }
            case Op.Wrmsr:
                RequireCpl0();
                if (!TryWriteMsr((uint)_r[RCX], ((_r[RDX] & 0xFFFF_FFFF) << 32) | (_r[RAX] & 0xFFFF_FFFF))) throw GuestFault.Gp();
                return;
            case Op.Lgdt:
            case Op.Lidt:
                {
                    RequireCpl0();
                    ulong lin = Lin(ref op);
                    ushort limit = (ushort)ReadMem(lin, 2);
                    ulong b = ReadMem((lin + 2) & _linMask, _mode64 ? 8 : 4);
                    if (!_mode64 && s == 2) b &= 0xFF_FFFF;
                    if (op.Op == Op.Lgdt) _gdt = new DescriptorTable { Base = b, Limit = limit };
                    else _idt = new DescriptorTable { Base = b, Limit = limit };
                    return;
                }
            case Op.Sgdt:
            case Op.Sidt:
                {
                    ulong lin = Lin(ref op);
                    var t = op.Op == Op.Sgdt ? _gdt : _idt;
                    WriteMem(lin, 2, t.Limit);
                    WriteMem((lin + 2) & _linMask, _mode64 ? 8 : 4, t.Base);
                    return;
                }
            case Op.Ltr:
                RequireCpl0();
                _tr = LoadSystemSegment((ushort)Get(ref op, op.K0, op.R0, 2), tss: true);
                return;
            case Op.Lldt:
                RequireCpl0();
                _ldt = LoadSystemSegment((ushort)Get(ref op, op.K0, op.R0, 2), tss: false);
                return;
            case Op.Str:
            case Op.Sldt:
                {
                    ushort v = op.Op == Op.Str ? _tr.Selector : _ldt.Selector;
                    Put(op.K0, op.R0, op.K0 == OpndKind.Mem ? 2 : s, v, op.K0 == OpndKind.Mem ? Lin(ref op) : 0);
                    return;
                }
            case Op.Invlpg:
                RequireCpl0();
                FlushTlbPage(Lin(ref op));
                return;
            case Op.Swapgs:
                if (!_mode64) throw GuestFault.Ud();
                RequireCpl0();
                (_seg[GS].Base, _kernelGsBase) = (_kernelGsBase, _seg[GS].Base);
                UpdateMode();
                return;
            case Op.Clts:
                RequireCpl0();
                _cr0 &= ~8UL;
                return;
            case Op.Smsw:
                Put(op.K0, op.R0, op.K0 == OpndKind.Mem ? 2 : s, _cr0, op.K0 == OpndKind.Mem ? Lin(ref op) : 0);
                return;
            case Op.Lmsw:
                {
                    RequireCpl0();
                    ulong v = Get(ref op, op.K0, op.R0, 2);
                    WriteCr(0, (_cr0 & ~0xEUL) | (v & 0xF) | (_cr0 & 1));
                    return;
                }
            default:
                UnknownInstruction();
                return;
        }
    }

    private static int DrIndex(int r) => r switch { 4 => 6, 5 => 7, _ => r & 7 };

    private void WriteCr(int cr, ulong v)
    {
        switch (cr)
        {
            case 0:
                {
                    if ((v & CpuBits.Cr0Pg) != 0 && (v & CpuBits.Cr0Pe) == 0) throw GuestFault.Gp();
                    ulong old = _cr0;
                    if ((v & CpuBits.Cr0Pg) != 0 && (old & CpuBits.Cr0Pg) == 0 && (_efer & CpuBits.EferLme) != 0)
                    {
                        if ((_cr4 & CpuBits.Cr4Pae) == 0) throw GuestFault.Gp();
                        _efer |= CpuBits.EferLma;
                    }
                    if ((v & CpuBits.Cr0Pg) == 0) _efer &= ~CpuBits.EferLma;
                    _cr0 = v | CpuBits.Cr0Et;
                    if (((old ^ v) & (CpuBits.Cr0Pg | CpuBits.Cr0Wp | CpuBits.Cr0Pe)) != 0) FlushTlb(all: true);
                    UpdateMode();
                    return;
                }
            case 2:
                _cr2 = v;
                return;
            case 3:
                _cr3 = v;
                FlushTlb(all: false);
                return;
            case 4:
                {
                    ulong old = _cr4;
                    _cr4 = v;
                    if (((old ^ v) & (CpuBits.Cr4Pge | CpuBits.Cr4Pae | CpuBits.Cr4Pse)) != 0) FlushTlb(all: true);
                    return;
                }
            case 8:
                _cr8 = v & 15;
                return;
            default:
                throw GuestFault.Ud();
        }
    }

    internal bool TryReadMsr(uint index, out ulong v)
    {
        v = index switch
        {
            Msr.Tsc => Tsc,
            Msr.ApicBase => _apicBase,
            Msr.SysenterCs => _sysenterCs,
            Msr.SysenterEsp => _sysenterEsp,
            Msr.SysenterEip => _sysenterEip,
            Msr.MiscEnable => _miscEnable,
            Msr.Pat => _pat,
            Msr.Efer => _efer,
            Msr.Star => _star,
            Msr.Lstar => _lstar,
            Msr.Cstar => _cstar,
            Msr.Sfmask => _sfmask,
            Msr.FsBase => _seg[FS].Base,
            Msr.GsBase => _seg[GS].Base,
            Msr.KernelGsBase => _kernelGsBase,
            Msr.TscAux => _tscAux,
            _ => 0,
        };
        return Array.IndexOf(MsrList, index) >= 0;
    }

    internal bool TryWriteMsr(uint index, ulong v)
    {
        switch (index)
        {
            case Msr.Tsc: _tscOffset = v - HostNanos(); return true;
            case Msr.ApicBase: _apicBase = v; return true;
            case Msr.SysenterCs: _sysenterCs = v; return true;
            case Msr.SysenterEsp: _sysenterEsp = v; return true;
            case Msr.SysenterEip: _sysenterEip = v; return true;
            case Msr.MiscEnable: _miscEnable = v; return true;
            case Msr.Pat: _pat = v; return true;
            case Msr.Efer:
                {
                    if ((v & ~(CpuBits.EferSce | CpuBits.EferLme | CpuBits.EferLma | CpuBits.EferNxe)) != 0) return false;
                    ulong old = _efer;
                    _efer = (v & ~CpuBits.EferLma) | (old & CpuBits.EferLma);
                    if (((old ^ _efer) & CpuBits.EferNxe) != 0) FlushTlb(all: true);
                    UpdateMode();
                    return true;
                }
            case Msr.Star: _star = v; return true;
            case Msr.Lstar: _lstar = v; return true;
            case Msr.Cstar: _cstar = v; return true;
            case Msr.Sfmask: _sfmask = v & 0xFFFF_FFFF; return true;
            case Msr.FsBase: _seg[FS].Base = v; UpdateMode(); return true;
            case Msr.GsBase: _seg[GS].Base = v; UpdateMode(); return true;
            case Msr.KernelGsBase: _kernelGsBase = v; return true;
            case Msr.TscAux: _tscAux = v & 0xFFFF_FFFF; return true;
            default: return false;
        }
    }

    private void Cpuid(uint leaf, uint sub)
    {
        var (a, b, c, d) = EmulatedCpuid.Query(leaf, sub, (uint)Id);
        _r[RAX] = a;
        _r[RBX] = b;
        _r[RCX] = c;
        _r[RDX] = d;
    }
}
