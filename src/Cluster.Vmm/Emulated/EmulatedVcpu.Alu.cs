using System.Numerics;
using Cluster.Vmm.Emulated.Cpu;

namespace Cluster.Vmm.Emulated;

/// <summary>Integer arithmetic, logic, shifts, multiply/divide and bit operations.</summary>
public sealed unsafe partial class EmulatedVcpu
{
    private void Alu(ref MicroOp op)
    {
        int s = op.Size;
        ulong m = Mask(s);
        ulong a = GetDst(ref op, s, out ulong lin);
        ulong b = op.K1 == OpndKind.Imm ? op.Imm & m : Get(ref op, op.K1, op.R1, s);
        ulong r;
        switch (op.Op)
        {
            case Op.Add: r = (a + b) & m; SetLazy(LazyOp.Add, a, b, r, s); break;
            case Op.Sub: r = (a - b) & m; SetLazy(LazyOp.Sub, a, b, r, s); break;
            case Op.Cmp: SetLazy(LazyOp.Sub, a, b, (a - b) & m, s); return;
            case Op.And: r = a & b; SetLazy(LazyOp.Logic, 0, 0, r, s); break;
            case Op.Test: SetLazy(LazyOp.Logic, 0, 0, a & b, s); return;
            case Op.Or: r = a | b; SetLazy(LazyOp.Logic, 0, 0, r, s); break;
            case Op.Xor: r = a ^ b; SetLazy(LazyOp.Logic, 0, 0, r, s); break;
            case Op.Adc:
                {
                    bool c = Cf;
                    r = (a + b + (c ? 1UL : 0)) & m;
                    _lc = c;
                    SetLazy(LazyOp.Adc, a, b, r, s);
                }
                break;
            default:
                {
                    bool c = Cf;
                    r = (a - b - (c ? 1UL : 0)) & m;
                    _lc = c;
                    SetLazy(LazyOp.Sbb, a, b, r, s);
                }
                break;
        }
        Put(op.K0, op.R0, s, r, lin);
    }

    private void Unary(ref MicroOp op)
    {
        int s = op.Size;
        ulong m = Mask(s);
        ulong a = GetDst(ref op, s, out ulong lin);
        ulong r;
        switch (op.Op)
        {
            case Op.Inc: _lc = Cf; r = (a + 1) & m; SetLazy(LazyOp.Inc, a, 1, r, s); break;
            case Op.Dec: _lc = Cf; r = (a - 1) & m; SetLazy(LazyOp.Dec, a, 1, r, s); break;
            case Op.Neg: r = (0 - a) & m; SetLazy(LazyOp.Sub, 0, a, r, s); break;
            default: r = ~a & m; break;
        }
        Put(op.K0, op.R0, s, r, lin);
    }

    private void Shift(ref MicroOp op)
    {
        int s = op.Size, bits = s * 8;
        ulong m = Mask(s);
        ulong a = GetDst(ref op, s, out ulong lin);
        int cnt = (int)((op.K1 == OpndKind.Imm ? op.Imm : _r[RCX]) & (s == 8 ? 63UL : 31UL));
        if (cnt == 0)
        {
            Put(op.K0, op.R0, s, a, lin);
            return;
        }
        ulong msb = 1UL << (bits - 1);
        ulong r, f;
        Materialize();
        ulong old = _flags;
        // The host CPU leaves OF alone for ROL/ROR by an immediate count other than 1 (the CL forms compute it).
        bool immediateKeepsOf = op.K1 == OpndKind.Imm && cnt != 1;
        switch (op.Op)
        {
            case Op.Shl:
                {
                    r = cnt < 64 ? (a << cnt) & m : 0;
                    bool cf = cnt <= bits && ((a >> (bits - cnt)) & 1) != 0;
                    f = Szp(r, s) | (cf ? CF : 0);
                    if (FirstStepOf(a, msb)) f |= OF;
                    SetArith(f);
                    break;
                }
            case Op.Shr:
                {
                    r = a >> cnt;
                    bool cf = ((a >> (cnt - 1)) & 1) != 0;
                    f = Szp(r, s) | (cf ? CF : 0);
                    if ((a & msb) != 0) f |= OF;
                    SetArith(f);
                    break;
                }
            case Op.Sar:
                {
                    long sa = (long)SignExtend(a, s);
                    r = (ulong)(sa >> Math.Min(cnt, 63)) & m;
                    bool cf = ((sa >> Math.Min(cnt - 1, 63)) & 1) != 0;
                    f = Szp(r, s) | (cf ? CF : 0);
                    SetArith(f);
                    break;
                }
            case Op.Rol:
                {
                    int c = cnt & (bits - 1);
                    r = c == 0 ? a : ((a << c) | (a >> (bits - c))) & m;
                    bool cf = (r & 1) != 0;
                    f = old & ~(CF | OF);
                    if (cf) f |= CF;
                    if (immediateKeepsOf) f |= old & OF;
                    else if (FirstStepOf(a, msb)) f |= OF;
                    _flags = f;
                    break;
                }
            case Op.Ror:
                {
                    int c = cnt & (bits - 1);
                    r = c == 0 ? a : ((a >> c) | (a << (bits - c))) & m;
                    bool cf = (r & msb) != 0;
                    f = old & ~(CF | OF);
                    if (cf) f |= CF;
                    if (immediateKeepsOf) f |= old & OF;
                    else if (((a & 1) != 0) ^ ((a & msb) != 0)) f |= OF;
                    _flags = f;
                    break;
                }
            case Op.Rcl:
                {
                    int c = s == 1 ? cnt % 9 : s == 2 ? cnt % 17 : cnt;
                    bool cf = (old & CF) != 0;
                    r = a;
                    if (c == 0) break;
                    for (int i = 0; i < c; i++)
                    {
                        bool ncf = (r & msb) != 0;
                        r = ((r << 1) | (cf ? 1UL : 0)) & m;
                        cf = ncf;
                    }
                    f = old & ~(CF | OF);
                    if (cf) f |= CF;
                    if (FirstStepOf(a, msb)) f |= OF;
                    _flags = f;
                    break;
                }
            default:
                {
                    int c = s == 1 ? cnt % 9 : s == 2 ? cnt % 17 : cnt;
                    bool cf = (old & CF) != 0;
                    bool of = ((a & msb) != 0) ^ cf;
                    r = a;
                    if (c == 0) break;
                    for (int i = 0; i < c; i++)
                    {
                        bool ncf = (r & 1) != 0;
                        r = (r >> 1) | (cf ? msb : 0);
                        cf = ncf;
                    }
                    f = old & ~(CF | OF);
                    if (cf) f |= CF;
                    if (of) f |= OF;
                    _flags = f;
                    break;
                }
        }
        Put(op.K0, op.R0, s, r, lin);
    }

    /// <summary>
    /// OF of a shift or rotate left: the host CPU reports the overflow of the first one-bit step
    /// (MSB xor the bit below it) for every count, not only for a count of one.
    /// </summary>
    private static bool FirstStepOf(ulong a, ulong msb) => ((a & msb) != 0) ^ ((a & (msb >> 1)) != 0);

    private void DoubleShift(ref MicroOp op)
    {
        int s = op.Size, bits = s * 8;
        ulong m = Mask(s);
        ulong a = GetDst(ref op, s, out ulong lin);
        ulong b = _r[op.R1] & m;
        int cnt = (int)((op.K2 == OpndKind.Imm ? op.Imm : _r[RCX]) & (s == 8 ? 63UL : 31UL));
        if (cnt == 0)
        {
            Put(op.K0, op.R0, s, a, lin);
            return;
        }
        ulong msb = 1UL << (bits - 1);
        ulong r;
        bool cf;
        if (s == 2)
        {
            // 16-bit forms shift through the 48-bit a:b:a, as the host does for counts over 16.
            ulong wide = (a << 32) | (b << 16) | a;
            if (op.Op == Op.Shld)
            {
                r = (wide << cnt >> 32) & m;
                cf = ((wide << (cnt - 1) >> 47) & 1) != 0;
            }
            else
            {
                r = (wide >> cnt) & m;
                cf = ((wide >> (cnt - 1)) & 1) != 0;
            }
        }
        else if (op.Op == Op.Shld)
        {
            r = ((a << cnt) | (b >> (bits - cnt))) & m;
            cf = ((a >> (bits - cnt)) & 1) != 0;
        }
        else
        {
            r = ((a >> cnt) | (b << (bits - cnt))) & m;
            cf = ((a >> (cnt - 1)) & 1) != 0;
        }
        ulong f = Szp(r, s) | (cf ? CF : 0);
        bool of = op.Op == Op.Shld ? FirstStepOf(a, msb) : ((a & msb) != 0) ^ ((b & 1) != 0);
        if (of) f |= OF;
        SetArith(f);
        Put(op.K0, op.R0, s, r, lin);
    }

    private void MulWide(ref MicroOp op)
    {
        int s = op.Size;
        ulong m = Mask(s);
        ulong src = Get(ref op, op.K0, op.R0, s);
        ulong a = _r[RAX] & m;
        ulong lo, hi;
        bool over;
        if (op.Op == Op.Mul)
        {
            if (s == 8) hi = Math.BigMul(a, src, out lo);
            else
            {
                ulong p = a * src;
                lo = p & m;
                hi = p >> (s * 8);
            }
            over = hi != 0;
        }
        else
        {
            if (s == 8)
            {
                long h = Math.BigMul((long)a, (long)src, out long l);
                hi = (ulong)h;
                lo = (ulong)l;
                over = h != (l >> 63);
            }
            else
            {
                long p = (long)SignExtend(a, s) * (long)SignExtend(src, s);
                lo = (ulong)p & m;
                hi = ((ulong)p >> (s * 8)) & m;
                over = p != (long)SignExtend(lo, s);
            }
        }
        if (s == 1) SetReg(RAX, 2, (hi << 8) | lo);
        else
        {
            SetReg(RAX, s, lo);
            SetReg(RDX, s, hi);
        }
        SetArith(MulFlags(lo, s, over));
    }

    /// <summary>Flags after a multiply: CF=OF=overflow; SF, ZF, PF from the low half and AF clear, as this machine's CPU does.</summary>
    private static ulong MulFlags(ulong lo, int s, bool over)
    {
        ulong f = Szp(lo, s) & ~ZF;
        if (over) f |= CF | OF;
        return f;
    }

    private void Imul(ref MicroOp op)
    {
        int s = op.Size;
        ulong m = Mask(s);
        ulong a, b;
        if (op.K2 == OpndKind.Imm)
        {
            a = Get(ref op, op.K1, op.R1, s);
            b = op.Imm & m;
        }
        else
        {
            a = _r[op.R0] & m;
            b = Get(ref op, op.K1, op.R1, s);
        }
        ulong lo;
        bool over;
        if (s == 8)
        {
            long h = Math.BigMul((long)a, (long)b, out long l);
            lo = (ulong)l;
            over = h != (l >> 63);
        }
        else
        {
            long p = (long)SignExtend(a, s) * (long)SignExtend(b, s);
            lo = (ulong)p & m;
            over = p != (long)SignExtend(lo, s);
        }
        SetReg(op.R0, s, lo);
        SetArith(MulFlags(lo, s, over));
    }

    private void Divide(ref MicroOp op)
    {
        int s = op.Size;
        ulong m = Mask(s);
        ulong d = Get(ref op, op.K0, op.R0, s);
        if (d == 0) throw GuestFault.De();
        ulong q, r;
        if (op.Op == Op.Div)
        {
            if (s == 8)
            {
                var n = ((UInt128)_r[RDX] << 64) | _r[RAX];
                var qq = n / d;
                if (qq > ulong.MaxValue) throw GuestFault.De();
                q = (ulong)qq;
                r = (ulong)(n % d);
            }
            else
            {
                ulong n = s == 1 ? _r[RAX] & 0xFFFF : ((_r[RDX] & m) << (s * 8)) | (_r[RAX] & m);
                q = n / d;
                if (q > m) throw GuestFault.De();
                r = n % d;
            }
        }
        else
        {
            if (s == 8)
            {
                var n = (Int128)(((UInt128)_r[RDX] << 64) | _r[RAX]);
                long dd = (long)d;
                if (dd == -1 && n == Int128.MinValue) throw GuestFault.De();
                Int128 qq = n / dd;
                if (qq > long.MaxValue || qq < long.MinValue) throw GuestFault.De();
                q = (ulong)(long)qq;
                r = (ulong)(long)(n % dd);
            }
            else
            {
                long n = s == 1 ? (short)_r[RAX] : s == 2 ? (int)((uint)((_r[RDX] & 0xFFFF) << 16) | (uint)(_r[RAX] & 0xFFFF)) : (long)(((_r[RDX] & m) << 32) | (_r[RAX] & m));
                long dd = (long)SignExtend(d, s);
                if (dd == -1 && n == long.MinValue) throw GuestFault.De();
                long qq = n / dd;
                long lim = 1L << (s * 8 - 1);
                if (qq >= lim || qq < -lim) throw GuestFault.De();
                q = (ulong)qq & m;
                r = (ulong)(n % dd) & m;
            }
        }
        if (s == 1) SetReg(RAX, 2, (r << 8) | q);
        else
        {
            SetReg(RAX, s, q);
            SetReg(RDX, s, r);
        }
    }

    private void BitTest(ref MicroOp op)
    {
        int s = op.Size, bits = s * 8;
        ulong lin = 0, a;
        int bit;
        if (op.K0 == OpndKind.Mem)
        {
            lin = Lin(ref op);
            if (op.K1 == OpndKind.Imm) bit = (int)(op.Imm & (ulong)(bits - 1));
            else
            {
                long off = (long)SignExtend(_r[op.R1] & Mask(s), s);
                lin = (lin + (ulong)((off >> (BitOperations.Log2((uint)bits))) * s)) & _linMask;
                bit = (int)(off & (bits - 1));
            }
            a = ReadMem(lin, s);
        }
        else
        {
            a = _r[op.R0] & Mask(s);
            bit = (int)((op.K1 == OpndKind.Imm ? op.Imm : _r[op.R1]) & (ulong)(bits - 1));
        }
        bool cf = ((a >> bit) & 1) != 0;
        Materialize();
        _flags = cf ? _flags | CF : _flags & ~CF;
        if (op.Op == Op.Bt) return;
        ulong r = op.Op switch { Op.Bts => a | (1UL << bit), Op.Btr => a & ~(1UL << bit), _ => a ^ (1UL << bit) };
        Put(op.K0, op.R0, s, r, lin);
    }

    private void BitScan(ref MicroOp op)
    {
        int s = op.Size, bits = s * 8;
        ulong v = Get(ref op, op.K1, op.R1, s);
        Materialize();
        ulong f = _flags & ~ArithFlags;
        switch (op.Op)
        {
            case Op.Bsf:
            case Op.Bsr:
                {
                    // The host CPU clears CF, OF, SF and AF and sets PF from the bit index (0 when the source is zero).
                    ulong idx = v == 0 ? 0 : op.Op == Op.Bsf ? (ulong)BitOperations.TrailingZeroCount(v) : (ulong)BitOperations.Log2(v);
                    if (v == 0) f |= ZF;
                    else SetReg(op.R0, s, idx);
                    if (Parity(idx)) f |= PF;
                    break;
                }
            case Op.Tzcnt:
                {
                    ulong r = v == 0 ? (ulong)bits : (ulong)BitOperations.TrailingZeroCount(v);
                    SetReg(op.R0, s, r);
                    if (v == 0) f |= CF;
                    if (r == 0) f |= ZF;
                    break;
                }
            case Op.Lzcnt:
                {
                    ulong r = v == 0 ? (ulong)bits : (ulong)(BitOperations.LeadingZeroCount(v) - (64 - bits));
                    SetReg(op.R0, s, r);
                    if (v == 0) f |= CF;
                    if (r == 0) f |= ZF;
                    break;
                }
            default:
                SetReg(op.R0, s, (ulong)BitOperations.PopCount(v));
                if (v == 0) f |= ZF;
                break;
        }
        _flags = f;
    }

    private void Cmpxchg(ref MicroOp op)
    {
        int s = op.Size;
        ulong m = Mask(s);
        ulong d = GetDst(ref op, s, out ulong lin);
        ulong acc = _r[RAX] & m;
        SetLazy(LazyOp.Sub, acc, d, (acc - d) & m, s);
        if (acc == d) Put(op.K0, op.R0, s, Get(ref op, op.K1, op.R1, s), lin);
        else
        {
            if (op.K0 == OpndKind.Mem) WriteMem(lin, s, d);
            SetReg(RAX, s, d);
        }
    }

    private void CmpxchgWide(ref MicroOp op)
    {
        ulong lin = Lin(ref op);
        if (op.Op == Op.Cmpxchg8b)
        {
            ulong v = ReadMem(lin, 8);
            ulong cmp = ((_r[RDX] & 0xFFFF_FFFF) << 32) | (_r[RAX] & 0xFFFF_FFFF);
            bool eq = v == cmp;
            if (eq) WriteMem(lin, 8, ((_r[RCX] & 0xFFFF_FFFF) << 32) | (_r[RBX] & 0xFFFF_FFFF));
            else
            {
                WriteMem(lin, 8, v);
                _r[RAX] = v & 0xFFFF_FFFF;
                _r[RDX] = v >> 32;
            }
            SetFlag(ZF, eq);
        }
        else
        {
            if ((lin & 15) != 0) throw GuestFault.Gp();
            ulong lo = ReadMem(lin, 8), hi = ReadMem(lin + 8, 8);
            bool eq = lo == _r[RAX] && hi == _r[RDX];
            if (eq)
            {
                WriteMem(lin, 8, _r[RBX]);
                WriteMem(lin + 8, 8, _r[RCX]);
            }
            else
            {
                WriteMem(lin, 8, lo);
                WriteMem(lin + 8, 8, hi);
                _r[RAX] = lo;
                _r[RDX] = hi;
            }
            SetFlag(ZF, eq);
        }
    }
}
