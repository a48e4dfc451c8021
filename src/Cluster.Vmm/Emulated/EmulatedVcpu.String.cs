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
        bool bulk = rep && op.Op is Op.Movs or Op.Stos;
        for (int it = 0; ; it++)
        {
            if (bulk)
            {
                ulong done = RepBulk(ref op, am);
                if (done != 0)
                {
                    it += (int)done - 1;
                    if ((_r[RCX] & am) == 0) return;
                    // Between pages the instruction yields to a Kick, a pending interrupt or a code write, and resumes.
                    if (_hasExit || it >= RepChunk || _stop || _kicked || ((_flags & IF) != 0 && Id == 0 && _vm.InterruptPending))
                    {
                        _rip = _instrStart;
                        _stop = true;
                        return;
                    }
                    continue;
                }
            }
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

    /// <summary>
    /// The fast path of REP MOVS/STOS: as many elements as lie in the current source and destination
    /// pages (without wrapping the address size), done on host memory at once, with the registers,
    /// dirty log and code invalidation updated for the whole run. Returns the elements done; 0 when
    /// the run needs the element-by-element path (MMIO, an element straddling a page, one element left).
    /// A fault translating either page leaves the registers at the first element not done.
    /// </summary>
    private ulong RepBulk(ref MicroOp op, ulong am)
    {
        int s = op.Size, a = op.AddrSize;
        ulong count = _r[RCX] & am;
        if (count < 2) return 0;
        bool down = (_flags & DF) != 0;
        bool movs = op.Op == Op.Movs;
        ulong di = _r[RDI] & am, si = _r[RSI] & am;
        ulong dLin = (_effBase[ES] + di) & _linMask, sLin = (_effBase[op.MemSeg] + si) & _linMask;
        ulong n = Math.Min(count, ElementsInPage(dLin, di, s, down, am));
        if (movs) n = Math.Min(n, ElementsInPage(sLin, si, s, down, am));
        if (n < 2) return 0;
        byte* src = null;
        if (movs && (src = ReadHost(sLin)) == null) return 0;
        byte* dst = WriteHost(dLin, out var region, out ulong regionPage);
        if (dst == null) return 0;
        long bytes = (long)n * s;
        // SAFETY: ElementsInPage keeps all n elements inside the 4 KiB page that dst (and src) point into,
        // going up from the first element or down from it, so [low, low + bytes) lies inside each page.
        byte* dLow = down ? dst - (bytes - s) : dst;
        if (movs)
        {
            // SAFETY: as above, for the source page.
            byte* sLow = down ? src - (bytes - s) : src;
            if (dLow < sLow + bytes && sLow < dLow + bytes && dLow != sLow) CopyElements(src, dst, (int)n, s, down);
            else Buffer.MemoryCopy(sLow, dLow, bytes, bytes);
        }
        else
        {
            ulong v = _r[RAX];
            // SAFETY: [dLow, dLow + bytes) lies inside one mapped RAM page (above); x86-64 hosts allow unaligned spans of integers.
            switch (s)
            {
                case 1: new Span<byte>(dLow, (int)n).Fill((byte)v); break;
                case 2: new Span<ushort>(dLow, (int)n).Fill((ushort)v); break;
                case 4: new Span<uint>(dLow, (int)n).Fill((uint)v); break;
                default: new Span<ulong>(dLow, (int)n).Fill(v); break;
            }
        }
        NoteWrite(region, regionPage);
        ulong step = (down ? (ulong)-s : (ulong)s) * n;
        SetReg(RDI, a, di + step);
        if (movs) SetReg(RSI, a, si + step);
        SetReg(RCX, a, count - n);
        return n;
    }

    /// <summary>Elements of <paramref name="size"/> bytes from <paramref name="lin"/> (index <paramref name="index"/>) that stay in its page and address size.</summary>
    private static ulong ElementsInPage(ulong lin, ulong index, int size, bool down, ulong am)
    {
        ulong off = lin & 0xFFF, s = (ulong)size;
        if (off + s > 4096) return 0;
        if (down) return Math.Min(off / s, index / s) + 1;
        ulong room = am - index;
        if (room < s - 1) return 0;
        return Math.Min((4096 - off) / s, (room - (s - 1)) / s + 1);
    }

    /// <summary>Copies overlapping runs element by element in instruction order, as REP MOVS defines them.</summary>
    private static void CopyElements(byte* src, byte* dst, int n, int size, bool down)
    {
        long step = down ? -size : size;
        for (int k = 0; k < n; k++, src += step, dst += step)
        {
            // SAFETY: every element lies inside the pages checked by the caller.
            switch (size)
            {
                case 1: *dst = *src; break;
                case 2: *(ushort*)dst = *(ushort*)src; break;
                case 4: *(uint*)dst = *(uint*)src; break;
                default: *(ulong*)dst = *(ulong*)src; break;
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
