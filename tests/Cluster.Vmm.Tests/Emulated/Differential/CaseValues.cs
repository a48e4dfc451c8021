using System.Buffers.Binary;
using Iced.Intel;

namespace Cluster.Vmm.Tests.Emulated.Differential;

/// <summary>One case's inputs: GPRs, arithmetic flags, the data window around the operand, and what the SDM defines after it.</summary>
internal sealed record Case(ulong[] Regs, ulong Flags, byte[] Window, Defined Defined)
{
    public string Describe()
    {
        string regs = string.Join(" ", new[] { 0, 3, 1, 2, 6, 7, 5 }.Select(i => $"{DifferentialHarness.RegName(i)}=0x{Regs[i]:x}"));
        return $"in {regs} flags=0x{Flags:x} operand bytes {Convert.ToHexString(Window, DifferentialHarness.Before, 16)}";
    }
}

/// <summary>
/// Places three operand values (<c>a</c>, <c>b</c>, <c>c</c>: edges or random) into a snippet's
/// operand slots, points the addressing registers at the operand (RSI/RDI for SIB and 32-bit
/// addressing with garbage in the upper halves, RBP for FS), fills everything else and the operand's
/// neighbours with random non-zero data, and leaves out cases the host would fault on (#DE).
/// </summary>
internal sealed class CaseValues(Random rng, ulong operand, Func<ulong> fsBase, Func<ulong> gsBase)
{
    public static ulong Random64(Random rng)
    {
        ulong v = (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 40);
        return rng.Next(4) switch { 0 => v & 0xFF, 1 => v & 0xFFFF, 2 => v & 0xFFFF_FFFF, _ => v };
    }

    public Case? Make(Snippet s, ulong a, ulong b, ulong c)
    {
        var p = s.Producer;
        var regs = new ulong[16];
        for (int i = 0; i < 16; i++) regs[i] = Random64(rng) | ((ulong)rng.Next() << 33);
        var window = new byte[DifferentialHarness.Window];
        for (int i = 0; i < window.Length; i++) window[i] = (byte)rng.Next(1, 256);
        ulong[] vals = [a, b, c];
        int vi = 0;
        ulong source = 0, count = 1;
        var slotValues = new ulong[p.Slots.Length];
        for (int i = 0; i < p.Slots.Length; i++)
        {
            var slot = p.Slots[i];
            if (slot.Kind == SlotKind.Imm)
            {
                count = p.Ins.GetImmediate(i);
                continue;
            }
            ulong v = vals[Math.Min(vi++, 2)];
            if (IsBitTest(p.Mnemonic) && i == 1 && p.Slots[0].Kind == SlotKind.Mem)
                // A register bit offset into memory reaches any byte: keep it inside the window (+-64 bytes).
                v = (ulong)((long)(v % 1024) - 512);
            slotValues[i] = v;
            switch (slot.Kind)
            {
                case SlotKind.Reg:
                    regs[slot.Family - Register.RAX] = v;
                    if (slot.Family == Register.RCX) count = v & 0xFF;
                    break;
                case SlotKind.High8:
                    {
                        int r = slot.Family - Register.RAX;
                        regs[r] = (regs[r] & ~0xFF00UL) | ((v & 0xFF) << 8);
                        break;
                    }
                default:
                    BinaryPrimitives.WriteUInt64LittleEndian(window.AsSpan(DifferentialHarness.Before), v);
                    if (slot.Size is 0 or 16 or 10) BinaryPrimitives.WriteUInt64LittleEndian(window.AsSpan(DifferentialHarness.Before + 8), c);
                    // Bytes past the operand stay random non-zero.
                    if (slot.Size is > 0 and < 8)
                        for (int j = slot.Size; j < 8; j++) window[DifferentialHarness.Before + j] = (byte)rng.Next(1, 256);
                    break;
            }
            if (i == 1) source = v;
        }
        switch (p.Mnemonic)
        {
            case Mnemonic.Cmpxchg when rng.Next(2) == 0:
                // Half the compares hit, so both outcomes run.
                regs[0] = slotValues[0];
                if (p.Slots[0].Kind == SlotKind.Mem) regs[0] = BinaryPrimitives.ReadUInt64LittleEndian(window.AsSpan(DifferentialHarness.Before));
                break;
            case Mnemonic.Cmpxchg8b or Mnemonic.Cmpxchg16b when rng.Next(2) == 0:
                {
                    var w = window.AsSpan(DifferentialHarness.Before);
                    if (p.Mnemonic == Mnemonic.Cmpxchg8b)
                    {
                        regs[0] = BinaryPrimitives.ReadUInt32LittleEndian(w);
                        regs[2] = BinaryPrimitives.ReadUInt32LittleEndian(w[4..]);
                    }
                    else
                    {
                        regs[0] = BinaryPrimitives.ReadUInt64LittleEndian(w);
                        regs[2] = BinaryPrimitives.ReadUInt64LittleEndian(w[8..]);
                    }
                    break;
                }
            case Mnemonic.Div or Mnemonic.Idiv:
                {
                    ulong divisor = p.Slots[0].Kind == SlotKind.Mem ? BinaryPrimitives.ReadUInt64LittleEndian(window.AsSpan(DifferentialHarness.Before)) : slotValues[0];
                    if (p.Slots[0].Kind == SlotKind.High8) divisor &= 0xFF;
                    // A high half that is the sign (or zero) extension of the low half mostly divides without overflow.
                    int size = p.Size;
                    bool signed = p.Mnemonic == Mnemonic.Idiv;
                    ulong lo = regs[0];
                    ulong ext = signed && ((lo >> (size * 8 - 1)) & 1) != 0 ? ulong.MaxValue : 0;
                    if (size == 1) regs[0] = (regs[0] & ~0xFF00UL) | ((rng.Next(3) == 0 ? (ulong)rng.Next(256) : ext & 0xFF) << 8);
                    else regs[2] = rng.Next(3) == 0 ? Random64(rng) : ext;
                    if (!Divides(regs[0], regs[2], divisor, size, signed)) return null;
                    break;
                }
        }
        switch (p.Mem)
        {
            case MemForm.Sib:
                {
                    long k = rng.Next(-3, 4);
                    regs[7] = (ulong)k;
                    regs[6] = operand - (ulong)(k * p.Scale) - (ulong)p.Disp;
                    break;
                }
            case MemForm.Addr32:
                {
                    long k = rng.Next(0, 4);
                    regs[7] = (ulong)k | ((ulong)rng.Next() << 32);
                    regs[6] = ((operand - (ulong)(k * p.Scale) - (ulong)p.Disp) & 0xFFFF_FFFF) | ((ulong)rng.Next() << 32);
                    break;
                }
            case MemForm.Fs:
                regs[5] = operand - fsBase() - (ulong)p.Disp;
                break;
            case MemForm.Gs:
                regs[5] = operand - gsBase() - (ulong)p.Disp;
                break;
        }
        var defined = FlagRules.For(p, count, source);
        if (defined.Skip) return null;
        return new Case(regs, (ulong)rng.Next() & Cluster.Vmm.Emulated.EmulatedVcpu.ArithFlags, window, defined);
    }

    private static bool IsBitTest(Mnemonic m) => m is Mnemonic.Bt or Mnemonic.Bts or Mnemonic.Btr or Mnemonic.Btc;

    /// <summary>Whether DIV/IDIV of the accumulator pair by <paramref name="d"/> at <paramref name="s"/> bytes runs without #DE.</summary>
    private static bool Divides(ulong rax, ulong rdx, ulong d, int s, bool signed)
    {
        ulong m = FlagRules.Mask(s);
        d &= m;
        if (d == 0) return false;
        int bits = s * 8;
        UInt128 n = s == 1 ? rax & 0xFFFF : ((UInt128)(rdx & m) << bits) | (rax & m);
        if (!signed) return n / d <= m;
        Int128 sn = (Int128)n;
        sn = (sn << (128 - 2 * bits)) >> (128 - 2 * bits);
        Int128 sd = (long)(d << (64 - bits)) >> (64 - bits);
        if (sd == -1 && sn == -(Int128.One << (2 * bits - 1))) return false;
        Int128 q = sn / sd;
        Int128 lim = Int128.One << (bits - 1);
        return q < lim && q >= -lim;
    }
}
