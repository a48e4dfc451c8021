using Cluster.Vmm.Emulated.Cpu;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Emulated;

/// <summary>String instructions (with REP) and port I/O.</summary>
public sealed unsafe partial class EmulatedVcpu
{
    /// <summary>Iterations of one REP instruction before it yields to the run loop (to stay responsive to Kick).</summary>
    private const int RepChunk = 1 << 16;

    private void StringOp(ref MicroOp op)
    {
        int s = op.Size, a = op.AddrSize;
        ulong am = Mask(a);
        bool rep = (op.Flags & (OpFlags.Rep | OpFlags.Repne)) != 0;
        if (rep && (_r[RCX] & am) == 0) return;
        ulong delta = (_flags & DF) != 0 ? (ulong)-s : (ulong)s;
        ulong srcBase = _effBase[op.MemSeg], dstBase = _effBase[ES];
        for (int it = 0; ; it++)
        {
            ulong si = _r[RSI] & am, di = _r[RDI] & am;
            switch (op.Op)
            {
                case Op.Movs:
                    WriteMem((dstBase + di) & _linMask, s, ReadMem((srcBase + si) & _linMask, s));
                    SetReg(RSI, a, si + delta);
                    SetReg(RDI, a, di + delta);
                    break;
                case Op.Stos:
                    WriteMem((dstBase + di) & _linMask, s, _r[RAX]);
                    SetReg(RDI, a, di + delta);
                    break;
                case Op.Lods:
                    SetReg(RAX, s, ReadMem((srcBase + si) & _linMask, s));
                    SetReg(RSI, a, si + delta);
                    break;
                case Op.Scas:
                    {
                        ulong x = _r[RAX] & Mask(s), y = ReadMem((dstBase + di) & _linMask, s);
                        SetLazy(LazyOp.Sub, x, y, (x - y) & Mask(s), s);
                        SetReg(RDI, a, di + delta);
                        break;
                    }
                case Op.Cmps:
                    {
                        ulong x = ReadMem((srcBase + si) & _linMask, s), y = ReadMem((dstBase + di) & _linMask, s);
                        SetLazy(LazyOp.Sub, x, y, (x - y) & Mask(s), s);
                        SetReg(RSI, a, si + delta);
                        SetReg(RDI, a, di + delta);
                        break;
                    }
                case Op.Ins:
                    {
                        ushort port = (ushort)_r[RDX];
                        CheckIoPrivilege();
                        ulong lin = (dstBase + di) & _linMask;
                        Translate(lin, Access.Write);
                        WriteMem(lin, s, PortRead(port, s));
                        SetReg(RDI, a, di + delta);
                        break;
                    }
                default:
                    {
                        ushort port = (ushort)_r[RDX];
                        CheckIoPrivilege();
                        PortWrite(port, s, ReadMem((srcBase + si) & _linMask, s));
                        SetReg(RSI, a, si + delta);
                        break;
                    }
            }
            // This element is complete: the reads it made are not replayed if a later element exits.
            if (_readCount != 0) CommitReads();
            if (!rep) return;
            ulong c = (_r[RCX] - 1) & am;
            SetReg(RCX, a, c);
            if (c == 0) return;
            if (op.Op is Op.Scas or Op.Cmps && ((op.Flags & OpFlags.Rep) != 0 ? !Zf : Zf)) return;
            if (_hasExit || it >= RepChunk || _stop)
            {
                _rip = _instrStart;
                _stop = true;
                return;
            }
        }
    }

    private void CheckIoPrivilege()
    {
        if ((_cr0 & CpuBits.Cr0Pe) != 0 && _cpl > (int)((_flags >> 12) & 3)) throw GuestFault.Gp();
    }

    private void PortIo(ref MicroOp op)
    {
        CheckIoPrivilege();
        int s = op.Size;
        if (op.Op == Op.In)
        {
            ushort port = op.K1 == OpndKind.Imm ? (ushort)op.Imm : (ushort)_r[RDX];
            SetReg(RAX, s, PortRead(port, s));
        }
        else
        {
            ushort port = op.K0 == OpndKind.Imm ? (ushort)op.Imm : (ushort)_r[RDX];
            PortWrite(port, s, _r[RAX] & Mask(s));
        }
    }

    /// <summary>A port read: the in-kernel devices answer directly; other ports exit and the instruction restarts with the value.</summary>
    private ulong PortRead(ushort port, int size)
    {
        if (_vm.TryPortIn(port, size, out ulong v)) return v;
        return TakeRead(IoTag | port, size);
    }

    private void PortWrite(ushort port, int size, ulong v)
    {
        if (!_vm.TryPortOut(port, size, v)) SetExit(VcpuExit.IoOut(port, size, v & Mask(size)));
    }
}
