using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Cluster.Vmm.Emulated.Cpu;

namespace Cluster.Vmm.Emulated;

/// <summary>The dispatcher of micro-ops and the operand access helpers.</summary>
public sealed unsafe partial class EmulatedVcpu
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong Ea(ref MicroOp op)
    {
        ulong a = (ulong)op.Disp;
        byte b = op.MemBase;
        if (b != MicroOp.NoReg) a += b == MicroOp.RipBase ? _rip : _r[b];
        if (op.MemIndex != MicroOp.NoReg) a += _r[op.MemIndex] << op.MemScale;
        if (op.AddrSize != 8) a &= op.AddrSize == 4 ? 0xFFFF_FFFFUL : 0xFFFF;
        return a;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong Lin(ref MicroOp op) => (Ea(ref op) + _effBase[op.MemSeg]) & _linMask;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetReg(int r, int size, ulong v)
    {
        switch (size)
        {
            case 8: _r[r] = v; break;
            case 4: _r[r] = (uint)v; break;
            case 2: _r[r] = (_r[r] & ~0xFFFFUL) | (v & 0xFFFF); break;
            default: _r[r] = (_r[r] & ~0xFFUL) | (v & 0xFF); break;
        }
    }

    /// <summary>Reads operand <paramref name="k"/>/<paramref name="r"/>; memory at the op's address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong Get(ref MicroOp op, OpndKind k, byte r, int size) => k switch
    {
        OpndKind.Reg => _r[r] & Mask(size),
        OpndKind.Imm => op.Imm & Mask(size),
        OpndKind.Mem => ReadMem(Lin(ref op), size),
        OpndKind.RegHigh8 => (_r[r] >> 8) & 0xFF,
        _ => 0,
    };

    /// <summary>Writes operand <paramref name="k"/>/<paramref name="r"/>; memory at the precomputed linear address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Put(OpndKind k, byte r, int size, ulong v, ulong lin)
    {
        if (k == OpndKind.Reg) SetReg(r, size, v);
        else if (k == OpndKind.Mem) WriteMem(lin, size, v);
        else if (k == OpndKind.RegHigh8) _r[r] = (_r[r] & ~0xFF00UL) | ((v & 0xFF) << 8);
    }

    /// <summary>Reads the destination of a read-modify-write op; returns its linear address in <paramref name="lin"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong GetDst(ref MicroOp op, int size, out ulong lin)
    {
        if (op.K0 == OpndKind.Reg) { lin = 0; return _r[op.R0] & Mask(size); }
        if (op.K0 == OpndKind.Mem) { lin = Lin(ref op); return ReadMem(lin, size); }
        lin = 0;
        return (_r[op.R0] >> 8) & 0xFF;
    }

    /// <summary>The hot path: the specialised forms of the common instructions; everything else goes to <see cref="ExecuteGeneric"/>.</summary>
    private void Execute(ref MicroOp op)
    {
        int s = op.Size;
        switch (op.Op)
        {
            case Op.MovRR: SetReg(op.R0, s, _r[op.R1]); return;
            case Op.MovRI: SetReg(op.R0, s, op.Imm); return;
            case Op.Load: SetReg(op.R0, s, ReadMem(Lin(ref op), s)); return;
            case Op.Store: WriteMem(Lin(ref op), s, _r[op.R1]); return;
            case Op.StoreImm: WriteMem(Lin(ref op), s, op.Imm); return;
            case Op.PushR: Push(_r[op.R0], s); return;
            case Op.PopR: SetReg(op.R0, s, Pop(s)); return;
            case Op.IncR:
                {
                    ulong a = _r[op.R0] & Mask(s), r = (a + 1) & Mask(s);
                    _lc = Cf;
                    SetReg(op.R0, s, r);
                    SetLazy(LazyOp.Inc, a, 1, r, s);
                    return;
                }
            case Op.DecR:
                {
                    ulong a = _r[op.R0] & Mask(s), r = (a - 1) & Mask(s);
                    _lc = Cf;
                    SetReg(op.R0, s, r);
                    SetLazy(LazyOp.Dec, a, 1, r, s);
                    return;
                }
            case Op.AddRR: AddReg(op.R0, s, _r[op.R1] & Mask(s)); return;
            case Op.AddRI: AddReg(op.R0, s, op.Imm); return;
            case Op.AddRM: AddReg(op.R0, s, ReadMem(Lin(ref op), s)); return;
            case Op.SubRR: SubReg(op.R0, s, _r[op.R1] & Mask(s)); return;
            case Op.SubRI: SubReg(op.R0, s, op.Imm); return;
            case Op.SubRM: SubReg(op.R0, s, ReadMem(Lin(ref op), s)); return;
            case Op.CmpRR: Compare(_r[op.R0] & Mask(s), _r[op.R1] & Mask(s), s); return;
            case Op.CmpRI: Compare(_r[op.R0] & Mask(s), op.Imm, s); return;
            case Op.CmpRM: Compare(_r[op.R0] & Mask(s), ReadMem(Lin(ref op), s), s); return;
            case Op.CmpMR: Compare(ReadMem(Lin(ref op), s), _r[op.R1] & Mask(s), s); return;
            case Op.CmpMI: Compare(ReadMem(Lin(ref op), s), op.Imm, s); return;
            case Op.AndRR: LogicReg(op.R0, s, _r[op.R0] & _r[op.R1]); return;
            case Op.AndRI: LogicReg(op.R0, s, _r[op.R0] & op.Imm); return;
            case Op.OrRR: LogicReg(op.R0, s, _r[op.R0] | _r[op.R1]); return;
            case Op.OrRI: LogicReg(op.R0, s, _r[op.R0] | op.Imm); return;
            case Op.XorRR: LogicReg(op.R0, s, _r[op.R0] ^ _r[op.R1]); return;
            case Op.XorRI: LogicReg(op.R0, s, _r[op.R0] ^ op.Imm); return;
            case Op.AndRM: LogicReg(op.R0, s, _r[op.R0] & ReadMem(Lin(ref op), s)); return;
            case Op.OrRM: LogicReg(op.R0, s, _r[op.R0] | ReadMem(Lin(ref op), s)); return;
            case Op.XorRM: LogicReg(op.R0, s, _r[op.R0] ^ ReadMem(Lin(ref op), s)); return;
            case Op.MovzxRR: SetReg(op.R0, s, _r[op.R1] & Mask(op.Size2)); return;
            case Op.MovzxRM: SetReg(op.R0, s, ReadMem(Lin(ref op), op.Size2)); return;
            case Op.MovsxRR: SetReg(op.R0, s, SignExtend(_r[op.R1] & Mask(op.Size2), op.Size2)); return;
            case Op.MovsxRM: SetReg(op.R0, s, SignExtend(ReadMem(Lin(ref op), op.Size2), op.Size2)); return;
            case Op.ShlRI:
                {
                    ulong a = _r[op.R0] & Mask(s);
                    ulong r = (a << (int)op.Imm) & Mask(s);
                    SetReg(op.R0, s, r);
                    SetLazy(LazyOp.Shl, a, op.Imm, r, s);
                    return;
                }
            case Op.ShrRI:
                {
                    ulong a = _r[op.R0] & Mask(s);
                    ulong r = a >> (int)op.Imm;
                    SetReg(op.R0, s, r);
                    SetLazy(LazyOp.Shr, a, op.Imm, r, s);
                    return;
                }
            case Op.SarRI:
                {
                    ulong a = _r[op.R0] & Mask(s);
                    ulong r = (ulong)((long)SignExtend(a, s) >> (int)op.Imm) & Mask(s);
                    SetReg(op.R0, s, r);
                    SetLazy(LazyOp.Sar, a, op.Imm, r, s);
                    return;
                }
            case Op.TestRR: SetLazy(LazyOp.Logic, 0, 0, _r[op.R0] & _r[op.R1] & Mask(s), s); return;
            case Op.TestRI: SetLazy(LazyOp.Logic, 0, 0, _r[op.R0] & op.Imm, s); return;
            case Op.Jcc:
                if (Cond(op.Cond)) _rip = (_rip + op.Imm) & Mask(s);
                return;
            case Op.Jmp:
                _rip = (_rip + op.Imm) & Mask(s);
                return;
            case Op.Lea:
                SetReg(op.R0, s, Ea(ref op));
                return;
            case Op.Call:
                Push(_rip, s);
                _rip = (_rip + op.Imm) & Mask(s);
                return;
            case Op.Ret:
                _rip = Pop(s);
                if (op.K0 == OpndKind.Imm) SetStackPtr(_r[RSP] + (op.Imm & 0xFFFF));
                return;
            case Op.Nop:
                return;
            default:
                ExecuteGeneric(ref op);
                return;
        }
    }

    private void ExecuteGeneric(ref MicroOp op)
    {
        int s = op.Size;
        switch (op.Op)
        {
            case Op.Mov:
                if (op.K0 == OpndKind.Reg && op.K1 == OpndKind.Reg) { SetReg(op.R0, s, _r[op.R1]); return; }
                {
                    ulong v = Get(ref op, op.K1, op.R1, s);
                    Put(op.K0, op.R0, s, v, op.K0 == OpndKind.Mem ? Lin(ref op) : 0);
                }
                return;
            case Op.Add: case Op.Or: case Op.Adc: case Op.Sbb: case Op.And: case Op.Sub: case Op.Xor: case Op.Cmp: case Op.Test:
                Alu(ref op);
                return;
            case Op.Push:
                Push(Get(ref op, op.K0, op.R0, s), s);
                return;
            case Op.Pop:
                {
                    ulong v = Pop(s);
                    if (op.K0 == OpndKind.Mem)
                    {
                        // The address uses RSP after the pop, as the architecture specifies.
                        WriteMem(Lin(ref op), s, v);
                    }
                    else Put(op.K0, op.R0, s, v, 0);
                }
                return;
            case Op.Movzx:
                SetReg(op.R0, s, Get(ref op, op.K1, op.R1, op.Size2));
                return;
            case Op.Movsx:
                SetReg(op.R0, s, SignExtend(Get(ref op, op.K1, op.R1, op.Size2), op.Size2));
                return;
            case Op.JmpInd:
                _rip = Get(ref op, op.K0, op.R0, s);
                return;
            case Op.CallInd:
                {
                    ulong t = Get(ref op, op.K0, op.R0, s);
                    Push(_rip, s);
                    _rip = t;
                }
                return;
            case Op.Inc: case Op.Dec: case Op.Not: case Op.Neg:
                Unary(ref op);
                return;
            case Op.Xchg:
                {
                    ulong lin = op.K0 == OpndKind.Mem || op.K1 == OpndKind.Mem ? Lin(ref op) : 0;
                    ulong a = op.K0 == OpndKind.Mem ? ReadMem(lin, s) : Get(ref op, op.K0, op.R0, s);
                    ulong b = op.K1 == OpndKind.Mem ? ReadMem(lin, s) : Get(ref op, op.K1, op.R1, s);
                    Put(op.K0, op.R0, s, b, lin);
                    Put(op.K1, op.R1, s, a, lin);
                }
                return;
            case Op.Cmov:
                {
                    ulong v = Get(ref op, op.K1, op.R1, s);
                    if (Cond(op.Cond)) SetReg(op.R0, s, v);
                    else if (s == 4) _r[op.R0] = (uint)_r[op.R0];
                }
                return;
            case Op.Setcc:
                Put(op.K0, op.R0, 1, Cond(op.Cond) ? 1UL : 0, op.K0 == OpndKind.Mem ? Lin(ref op) : 0);
                return;
            case Op.Bswap:
                if (s == 8) _r[op.R0] = BinaryPrimitives.ReverseEndianness(_r[op.R0]);
                else if (s == 4) _r[op.R0] = BinaryPrimitives.ReverseEndianness((uint)_r[op.R0]);
                else SetReg(op.R0, 2, 0);
                return;
            case Op.Cbw:
                SetReg(RAX, s, SignExtend(_r[RAX] & Mask(s / 2), s / 2));
                return;
            case Op.Cwd:
                SetReg(RDX, s, ((_r[RAX] >> (s * 8 - 1)) & 1) != 0 ? ulong.MaxValue : 0);
                return;
            case Op.Rol: case Op.Ror: case Op.Rcl: case Op.Rcr: case Op.Shl: case Op.Shr: case Op.Sar:
                Shift(ref op);
                return;
            case Op.Shld: case Op.Shrd:
                DoubleShift(ref op);
                return;
            case Op.Mul: case Op.Imul1:
                MulWide(ref op);
                return;
            case Op.Imul2:
                Imul(ref op);
                return;
            case Op.Div: case Op.Idiv:
                Divide(ref op);
                return;
            case Op.Bt: case Op.Bts: case Op.Btr: case Op.Btc:
                BitTest(ref op);
                return;
            case Op.Bsf: case Op.Bsr: case Op.Tzcnt: case Op.Lzcnt: case Op.Popcnt:
                BitScan(ref op);
                return;
            case Op.Xadd:
                {
                    ulong a = GetDst(ref op, s, out ulong lin);
                    ulong b = _r[op.R1] & Mask(s);
                    if (op.K1 == OpndKind.RegHigh8) b = (_r[op.R1] >> 8) & 0xFF;
                    ulong r = (a + b) & Mask(s);
                    Put(op.K1, op.R1, s, a, 0);
                    Put(op.K0, op.R0, s, r, lin);
                    SetLazy(LazyOp.Add, a, b, r, s);
                }
                return;
            case Op.Cmpxchg:
                Cmpxchg(ref op);
                return;
            case Op.Cmpxchg8b: case Op.Cmpxchg16b:
                CmpxchgWide(ref op);
                return;
            case Op.Loop: case Op.Loope: case Op.Loopne:
                {
                    ulong c = (_r[RCX] - 1) & Mask(op.AddrSize);
                    SetReg(RCX, op.AddrSize, c);
                    bool take = c != 0 && (op.Op == Op.Loop || (op.Op == Op.Loope ? Zf : !Zf));
                    if (take) _rip = (_rip + op.Imm) & Mask(s);
                }
                return;
            case Op.Jrcxz:
                if ((_r[RCX] & Mask(op.AddrSize)) == 0) _rip = (_rip + op.Imm) & Mask(s);
                return;
            case Op.Movs: case Op.Stos: case Op.Lods: case Op.Scas: case Op.Cmps: case Op.Ins: case Op.Outs:
                StringOp(ref op);
                return;
            case Op.In: case Op.Out:
                PortIo(ref op);
                return;
            case Op.Leave:
                SetStackPtr(_r[RBP]);
                SetReg(RBP, s, Pop(s));
                return;
            case Op.Enter:
                Enter(ref op);
                return;
            case Op.Pushf:
                Push(GetFlags() & 0xFCFFFF, s);
                return;
            case Op.Popf:
                Popf(Pop(s), s);
                return;
            case Op.Lahf:
                _r[RAX] = (_r[RAX] & ~0xFF00UL) | (((GetFlags() & 0xD5) | 2) << 8);
                return;
            case Op.Sahf:
                SetFlags((GetFlags() & ~0xD5UL) | ((_r[RAX] >> 8) & 0xD5));
                return;
            case Op.Clc: SetFlag(CF, false); return;
            case Op.Stc: SetFlag(CF, true); return;
            case Op.Cmc: SetFlag(CF, !Cf); return;
            case Op.Cld: _flags &= ~DF; return;
            case Op.Std: _flags |= DF; return;
            case Op.Xlat:
                {
                    ulong a = ((_r[RBX] + (_r[RAX] & 0xFF)) & Mask(op.AddrSize)) + _effBase[op.MemSeg];
                    SetReg(RAX, 1, ReadMem(a & _linMask, 1));
                }
                return;
            case Op.CrossPage:
                ExecuteUncached();
                return;
            case Op.Invalid:
                UnknownInstruction();
                return;
            default:
                ExecuteSystem(ref op);
                return;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AddReg(int r, int s, ulong b)
    {
        ulong m = Mask(s), a = _r[r] & m, res = (a + b) & m;
        SetReg(r, s, res);
        SetLazy(LazyOp.Add, a, b, res, s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SubReg(int r, int s, ulong b)
    {
        ulong m = Mask(s), a = _r[r] & m, res = (a - b) & m;
        SetReg(r, s, res);
        SetLazy(LazyOp.Sub, a, b, res, s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Compare(ulong a, ulong b, int s) => SetLazy(LazyOp.Sub, a, b, (a - b) & Mask(s), s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void LogicReg(int r, int s, ulong v)
    {
        v &= Mask(s);
        SetReg(r, s, v);
        SetLazy(LazyOp.Logic, 0, 0, v, s);
    }

    private static ulong SignExtend(ulong v, int size) => size switch
    {
        1 => (ulong)(long)(sbyte)v,
        2 => (ulong)(long)(short)v,
        4 => (ulong)(long)(int)v,
        _ => v,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetStackPtr(ulong v)
    {
        if (_stackSize == 8) _r[RSP] = v;
        else SetReg(RSP, _stackSize, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Push(ulong v, int size)
    {
        ulong sp = (_r[RSP] - (ulong)size) & _stackMask;
        WriteMem((sp + _effBase[SS]) & _linMask, size, v);
        SetStackPtr(sp);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Pop(int size)
    {
        ulong sp = _r[RSP] & _stackMask;
        ulong v = ReadMem((sp + _effBase[SS]) & _linMask, size);
        SetStackPtr(sp + (ulong)size);
        return v;
    }

    private void Enter(ref MicroOp op)
    {
        int s = op.Size;
        int level = (int)(op.Imm2 & 31);
        Push(_r[RBP], s);
        ulong frame = _r[RSP] & _stackMask;
        for (int i = 1; i < level; i++)
        {
            ulong bp = (_r[RBP] - (ulong)(i * s)) & _stackMask;
            Push(ReadMem((bp + _effBase[SS]) & _linMask, s), s);
        }
        if (level > 0) Push(frame, s);
        SetReg(RBP, s, frame);
        SetStackPtr((_r[RSP] - (op.Imm & 0xFFFF)) & _stackMask);
    }

    private void Popf(ulong v, int size)
    {
        ulong cur = GetFlags();
        ulong writable = 0x3F7FD5;
        if (_cpl > 0) writable &= ~0x3000UL;
        if (_cpl > (int)((cur >> 12) & 3)) writable &= ~IF;
        writable &= ~0x30000UL;
        if (size == 2) writable &= 0xFFFF;
        ulong nf = (cur & ~writable) | (v & writable);
        SetFlags(nf);
    }
}
