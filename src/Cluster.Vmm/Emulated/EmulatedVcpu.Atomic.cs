using System.Numerics;
using Cluster.Vmm.Emulated.Cpu;

namespace Cluster.Vmm.Emulated;

/// <summary>
/// LOCK-prefixed read-modify-write instructions as host-atomic operations on guest RAM: a
/// compare-and-swap loop on the naturally aligned 8-byte word that contains the operand computes
/// the result from the value it read, so a plain store by another vCPU (to the operand or to its
/// neighbouring bytes) is never overwritten by a stale value. What cannot be done that way (an
/// operand straddling an aligned 8-byte word, CMPXCHG16B, MMIO) runs under the VM's
/// <see cref="EmulatedVm.AtomicGate"/>, which makes it atomic with other such instructions only.
/// </summary>
public sealed unsafe partial class EmulatedVcpu
{
    private void ExecuteLocked(ref MicroOp op)
    {
        if (TryExecuteAtomic(ref op)) return;
        lock (_vm.AtomicGate) Execute(ref op);
    }

    /// <summary>Runs a locked op with a host CAS; false (nothing done) when it needs the gated path.</summary>
    private bool TryExecuteAtomic(ref MicroOp op)
    {
        int s = op.Size;
        ulong lin;
        int bit = 0;
        OpndKind regKind = op.K1;
        byte regNum = op.R1;
        switch (op.Op)
        {
            case Op.Add: case Op.Or: case Op.Adc: case Op.Sbb: case Op.And: case Op.Sub: case Op.Xor:
            case Op.Inc: case Op.Dec: case Op.Not: case Op.Neg: case Op.Xadd: case Op.Cmpxchg:
                if (op.K0 != OpndKind.Mem) return false;
                lin = Lin(ref op);
                break;
            case Op.Xchg:
                if (op.K0 == OpndKind.Mem) lin = Lin(ref op);
                else if (op.K1 == OpndKind.Mem)
                {
                    lin = Lin(ref op);
                    (regKind, regNum) = (op.K0, op.R0);
                }
                else return false;
                break;
            case Op.Bts: case Op.Btr: case Op.Btc:
                {
                    if (op.K0 != OpndKind.Mem) return false;
                    int bits = s * 8;
                    lin = Lin(ref op);
                    if (op.K1 == OpndKind.Imm) bit = (int)(op.Imm & (ulong)(bits - 1));
                    else
                    {
                        // A register bit offset addresses memory beyond the operand, as in BitTest.
                        long off = (long)SignExtend(_r[op.R1] & Mask(s), s);
                        lin = (lin + (ulong)((off >> BitOperations.Log2((uint)bits)) * s)) & _linMask;
                        bit = (int)(off & (bits - 1));
                    }
                    break;
                }
            case Op.Cmpxchg8b:
                s = 8;
                lin = Lin(ref op);
                break;
            default:
                return false;
        }
        // The operand must lie inside one aligned 8-byte word (so also inside one page).
        if ((int)(lin & 7) + s > 8) return false;
        byte* p = WriteHost(lin, out var region, out ulong regionPage);
        if (p == null) return false;

        ulong m = Mask(s);
        int shift = (int)((nuint)p & 7) * 8;
        // SAFETY: p points into a mapped 4 KiB RAM page; rounding down to 8 stays inside that page
        // (pages are 4 KiB aligned in host memory), and Interlocked needs exactly that alignment.
        long* word = (long*)((nuint)p & ~(nuint)7);
        ulong src = regKind switch
        {
            OpndKind.Imm => op.Imm & m,
            OpndKind.RegHigh8 => (_r[regNum] >> 8) & 0xFF,
            _ => _r[regNum] & m,
        };
        bool carry = Cf;
        ulong acc = op.Op == Op.Cmpxchg8b ? ((_r[RDX] & 0xFFFF_FFFF) << 32) | (_r[RAX] & 0xFFFF_FFFF) : _r[RAX] & m;
        ulong a, r;
        while (true)
        {
            ulong old = (ulong)Volatile.Read(ref *word);
            a = (old >> shift) & m;
            bool write = true;
            switch (op.Op)
            {
                case Op.Add: case Op.Xadd: r = a + src; break;
                case Op.Or: r = a | src; break;
                case Op.Adc: r = a + src + (carry ? 1UL : 0); break;
                case Op.Sbb: r = a - src - (carry ? 1UL : 0); break;
                case Op.And: r = a & src; break;
                case Op.Sub: r = a - src; break;
                case Op.Xor: r = a ^ src; break;
                case Op.Inc: r = a + 1; break;
                case Op.Dec: r = a - 1; break;
                case Op.Not: r = ~a; break;
                case Op.Neg: r = 0 - a; break;
                case Op.Xchg: r = src; break;
                case Op.Bts: r = a | (1UL << bit); break;
                case Op.Btr: r = a & ~(1UL << bit); break;
                case Op.Btc: r = a ^ (1UL << bit); break;
                case Op.Cmpxchg: r = src; write = a == acc; break;
                default: r = ((_r[RCX] & 0xFFFF_FFFF) << 32) | (_r[RBX] & 0xFFFF_FFFF); write = a == acc; break;
            }
            r &= m;
            if (!write) break;
            ulong updated = (old & ~(m << shift)) | (r << shift);
            if (Interlocked.CompareExchange(ref *word, (long)updated, (long)old) == (long)old) break;
        }
        // The processor writes the destination even when a compare fails: the page counts as written.
        NoteWrite(region, regionPage);

        switch (op.Op)
        {
            case Op.Add: SetLazy(LazyOp.Add, a, src, r, s); break;
            case Op.Sub: SetLazy(LazyOp.Sub, a, src, r, s); break;
            case Op.Or: case Op.And: case Op.Xor: SetLazy(LazyOp.Logic, 0, 0, r, s); break;
            case Op.Adc: _lc = carry; SetLazy(LazyOp.Adc, a, src, r, s); break;
            case Op.Sbb: _lc = carry; SetLazy(LazyOp.Sbb, a, src, r, s); break;
            case Op.Inc: _lc = carry; SetLazy(LazyOp.Inc, a, 1, r, s); break;
            case Op.Dec: _lc = carry; SetLazy(LazyOp.Dec, a, 1, r, s); break;
            case Op.Neg: SetLazy(LazyOp.Sub, 0, a, r, s); break;
            case Op.Not: break;
            case Op.Xadd:
                Put(op.K1, op.R1, s, a, 0);
                SetLazy(LazyOp.Add, a, src, r, s);
                break;
            case Op.Xchg: Put(regKind, regNum, s, a, 0); break;
            case Op.Bts: case Op.Btr: case Op.Btc:
                Materialize();
                _flags = ((a >> bit) & 1) != 0 ? _flags | CF : _flags & ~CF;
                break;
            case Op.Cmpxchg:
                SetLazy(LazyOp.Sub, acc, a, (acc - a) & m, s);
                if (a != acc) SetReg(RAX, s, a);
                break;
            default:
                SetFlag(ZF, a == acc);
                if (a != acc)
                {
                    _r[RAX] = a & 0xFFFF_FFFF;
                    _r[RDX] = a >> 32;
                }
                break;
        }
        return true;
    }
}
