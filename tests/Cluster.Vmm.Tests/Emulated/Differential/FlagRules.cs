using Iced.Intel;
using static Cluster.Vmm.Emulated.EmulatedVcpu;

namespace Cluster.Vmm.Tests.Emulated.Differential;

/// <summary>What the SDM defines after an instruction, for one set of operands: the flags, and whether the destination is.</summary>
internal readonly record struct Defined(ulong Flags, bool Destination, bool Skip)
{
    public static readonly Defined All = new(ArithFlags, true, false);
}

/// <summary>
/// Flags (and results) that the SDM leaves undefined, per instruction and operands, so that the
/// differential tests compare exactly what every x86-64 CPU must agree on (Intel SDM vol. 2, each
/// instruction's "Flags Affected").
/// </summary>
internal static class FlagRules
{
    /// <param name="p">The instruction.</param>
    /// <param name="count">Its shift or rotate count as the instruction reads it (CL or the immediate), before masking.</param>
    /// <param name="source">Its source operand (bit scans: the operand scanned).</param>
    public static Defined For(Producer p, ulong count, ulong source) => For(p.Mnemonic, p.Size, count, source);

    /// <param name="mnemonic">The instruction.</param>
    /// <param name="size">Its operand size in bytes.</param>
    /// <param name="count">Its shift or rotate count as the instruction reads it (CL or the immediate), before masking.</param>
    /// <param name="source">Its source operand (bit scans: the operand scanned).</param>
    public static Defined For(Mnemonic mnemonic, int size, ulong count, ulong source)
    {
        int bits = size * 8;
        int c = (int)(count & (size == 8 ? 63UL : 31UL));
        switch (mnemonic)
        {
            case Mnemonic.Mul: case Mnemonic.Imul:
                return new(CF | OF, true, false);
            case Mnemonic.Div: case Mnemonic.Idiv:
                return new(0, true, false);
            case Mnemonic.And: case Mnemonic.Or: case Mnemonic.Xor: case Mnemonic.Test:
                return new(ArithFlags & ~AF, true, false);
            case Mnemonic.Shl: case Mnemonic.Sal: case Mnemonic.Shr: case Mnemonic.Sar:
                {
                    // A masked count of 0 changes no flag; otherwise AF is undefined, OF too unless the count is 1,
                    // and CF for SHL/SHR once the count reaches the operand's width.
                    if (c == 0) return Defined.All;
                    ulong f = ArithFlags & ~AF;
                    if (c != 1) f &= ~OF;
                    if (c >= bits && mnemonic != Mnemonic.Sar) f &= ~CF;
                    return new(f, true, false);
                }
            case Mnemonic.Rol: case Mnemonic.Ror: case Mnemonic.Rcl: case Mnemonic.Rcr:
                // Only CF and OF change, OF only defined for a count of 1.
                return c is 0 or 1 ? Defined.All : new(ArithFlags & ~OF, true, false);
            case Mnemonic.Shld: case Mnemonic.Shrd:
                // A count above the width leaves result and flags undefined.
                if (c == 0) return Defined.All;
                if (c > bits) return new(0, false, true);
                return new(ArithFlags & ~AF & (c == 1 ? ~0UL : ~OF), true, false);
            case Mnemonic.Bt: case Mnemonic.Bts: case Mnemonic.Btr: case Mnemonic.Btc:
                return new(CF | ZF, true, false);
            case Mnemonic.Bsf: case Mnemonic.Bsr:
                // The destination of a scan of zero is undefined (Intel and AMD leave it, the SDM does not say so).
                return new(ZF, (source & Mask(size)) != 0, false);
            case Mnemonic.Tzcnt: case Mnemonic.Lzcnt:
                return new(CF | ZF, true, false);
            case Mnemonic.Bswap:
                return new(ArithFlags, size != 2, false);
            default:
                return Defined.All;
        }
    }

    /// <summary>The flags that condition code <paramref name="cc"/> (x86 encoding) reads.</summary>
    public static ulong Reads(int cc) => (cc >> 1) switch
    {
        0 => OF,
        1 => CF,
        2 => ZF,
        3 => CF | ZF,
        4 => SF,
        5 => PF,
        6 => SF | OF,
        _ => ZF | SF | OF,
    };

    public static ulong Mask(int size) => size >= 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;
}
