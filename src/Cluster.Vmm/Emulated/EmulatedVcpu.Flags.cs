using System.Numerics;
using System.Runtime.CompilerServices;

namespace Cluster.Vmm.Emulated;

/// <summary>Lazy arithmetic flags: the last flag-setting operation is kept and flags computed when read.</summary>
public sealed unsafe partial class EmulatedVcpu
{
    internal const ulong CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, TF = 0x100, IF = 0x200, DF = 0x400, OF = 0x800;
    internal const ulong ArithFlags = CF | PF | AF | ZF | SF | OF;

    private enum LazyOp : byte { None, Add, Adc, Sub, Sbb, Logic, Inc, Dec, Shl, Shr, Sar }

    private LazyOp _lop;
    private ulong _la, _lb, _lr;
    private bool _lc;
    private int _lbits;
    private ulong _flags = 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetLazy(LazyOp op, ulong a, ulong b, ulong r, int size)
    {
        _lop = op;
        _la = a;
        _lb = b;
        _lr = r;
        _lbits = size * 8;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mask(int size) => ulong.MaxValue >> (64 - size * 8);

    private static bool Parity(ulong r) => (BitOperations.PopCount(r & 0xFF) & 1) == 0;

    /// <summary>RFLAGS with the arithmetic flags computed.</summary>
    internal ulong GetFlags()
    {
        if (_lop == LazyOp.None) return _flags;
        ulong f = _flags & ~ArithFlags;
        if (LazyCf()) f |= CF;
        if (Parity(_lr)) f |= PF;
        if (LazyAf()) f |= AF;
        if (_lr == 0) f |= ZF;
        if (((_lr >> (_lbits - 1)) & 1) != 0) f |= SF;
        if (LazyOf()) f |= OF;
        _flags = f;
        _lop = LazyOp.None;
        return f;
    }

    /// <summary>Replaces RFLAGS (bit 1 always set).</summary>
    internal void SetFlags(ulong f)
    {
        _flags = (f & 0x3F7FD5) | 2;
        _lop = LazyOp.None;
    }

    /// <summary>Computes the lazy flags into <see cref="_flags"/> so that single flags can be changed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Materialize()
    {
        if (_lop != LazyOp.None) GetFlags();
    }

    private bool LazyCf() => _lop switch
    {
        LazyOp.Add => _lr < _la,
        LazyOp.Adc => _lr < _la || (_lc && _lr == _la),
        LazyOp.Sub => _la < _lb,
        LazyOp.Sbb => _la < _lb || (_lc && _la == _lb),
        LazyOp.Inc or LazyOp.Dec => _lc,
        LazyOp.Shl => _lb <= (ulong)_lbits && ((_la >> (_lbits - (int)_lb)) & 1) != 0,
        LazyOp.Shr => ((_la >> ((int)_lb - 1)) & 1) != 0,
        LazyOp.Sar => (((long)(_la << (64 - _lbits)) >> (64 - _lbits) >> Math.Min((int)_lb - 1, 63)) & 1) != 0,
        _ => false,
    };

    private bool LazyOf()
    {
        int s = _lbits - 1;
        return _lop switch
        {
            LazyOp.Add or LazyOp.Adc => (((_la ^ _lr) & (_lb ^ _lr)) >> s & 1) != 0,
            LazyOp.Sub or LazyOp.Sbb => (((_la ^ _lb) & (_la ^ _lr)) >> s & 1) != 0,
            LazyOp.Inc => _lr == 1UL << s,
            LazyOp.Dec => _lr == (1UL << s) - 1,
            LazyOp.Shl => (((_la >> s) ^ (_la >> (s - 1))) & 1) != 0,
            LazyOp.Shr => ((_la >> s) & 1) != 0,
            _ => false,
        };
    }

    private bool LazyAf() => _lop is not (LazyOp.Logic or LazyOp.Shl or LazyOp.Shr or LazyOp.Sar) && ((_la ^ _lb ^ _lr) & 0x10) != 0;

    internal bool Cf
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _lop switch
        {
            LazyOp.None => (_flags & CF) != 0,
            LazyOp.Sub => _la < _lb,
            LazyOp.Add => _lr < _la,
            LazyOp.Logic => false,
            LazyOp.Inc or LazyOp.Dec => _lc,
            _ => LazyCf(),
        };
    }
    private bool Zf => _lop == LazyOp.None ? (_flags & ZF) != 0 : _lr == 0;
    private bool Sf => _lop == LazyOp.None ? (_flags & SF) != 0 : ((_lr >> (_lbits - 1)) & 1) != 0;
    private bool Of => _lop == LazyOp.None ? (_flags & OF) != 0 : LazyOf();
    private bool Pf => _lop == LazyOp.None ? (_flags & PF) != 0 : Parity(_lr);

    /// <summary>Evaluates condition code <paramref name="cc"/> (x86 encoding 0-15).</summary>
    private bool Cond(int cc)
    {
        if ((cc & ~1) == 4 && _lop != LazyOp.None) return (_lr == 0) ^ (cc == 5);
        if (_lop == LazyOp.Sub)
        {
            int sh = 64 - _lbits;
            switch (cc)
            {
                case 2: return _la < _lb;
                case 3: return _la >= _lb;
                case 4: return _la == _lb;
                case 5: return _la != _lb;
                case 6: return _la <= _lb;
                case 7: return _la > _lb;
                case 12: return (long)(_la << sh) < (long)(_lb << sh);
                case 13: return (long)(_la << sh) >= (long)(_lb << sh);
                case 14: return (long)(_la << sh) <= (long)(_lb << sh);
                case 15: return (long)(_la << sh) > (long)(_lb << sh);
            }
        }
        else if (_lop == LazyOp.Logic)
        {
            bool sf = ((_lr >> (_lbits - 1)) & 1) != 0;
            switch (cc)
            {
                case 2: case 0: return false;
                case 3: case 1: return true;
                case 4: case 6: return _lr == 0;
                case 5: case 7: return _lr != 0;
                case 8: case 12: return sf;
                case 9: case 13: return !sf;
                case 14: return _lr == 0 || sf;
                case 15: return _lr != 0 && !sf;
            }
        }
        bool r = (cc >> 1) switch
        {
            0 => Of,
            1 => Cf,
            2 => Zf,
            3 => Cf || Zf,
            4 => Sf,
            5 => Pf,
            6 => Sf != Of,
            _ => Zf || Sf != Of,
        };
        return r ^ ((cc & 1) != 0);
    }

    /// <summary>Sets the six arithmetic flags eagerly (shifts, multiplies, bit scans).</summary>
    private void SetArith(ulong arith)
    {
        Materialize();
        _flags = (_flags & ~ArithFlags) | (arith & ArithFlags);
    }

    /// <summary>ZF, SF and PF of a result, for eager flag computations.</summary>
    private static ulong Szp(ulong r, int size)
    {
        ulong f = 0;
        if ((r & Mask(size)) == 0) f |= ZF;
        if (((r >> (size * 8 - 1)) & 1) != 0) f |= SF;
        if (Parity(r)) f |= PF;
        return f;
    }

    private void SetFlag(ulong flag, bool value)
    {
        Materialize();
        _flags = value ? _flags | flag : _flags & ~flag;
    }
}
