namespace Cluster.Vmm.Emulated.Cpu;

/// <summary>What a micro-op does; one handler of the executor per value.</summary>
internal enum Op : ushort
{
    Invalid, CrossPage, Nop,
    Mov, Movzx, Movsx, Lea, Push, Pop, Xchg, Cmov, Setcc, Bswap, MovToSeg, MovFromSeg, MovToCr, MovFromCr, MovToDr, MovFromDr,
    Cbw, Cwd, PushSeg, PopSeg, Pusha, Popa,
    Add, Or, Adc, Sbb, And, Sub, Xor, Cmp, Test, Not, Neg, Inc, Dec,
    Rol, Ror, Rcl, Rcr, Shl, Shr, Sar, Shld, Shrd,
    Mul, Imul1, Imul2, Div, Idiv,
    Bt, Bts, Btr, Btc, Bsf, Bsr, Tzcnt, Lzcnt, Popcnt,
    Xadd, Cmpxchg, Cmpxchg8b, Cmpxchg16b,
    Jcc, Jmp, JmpInd, Call, CallInd, Ret, Loop, Loope, Loopne, Jrcxz, JmpFar, JmpFarInd, CallFar, CallFarInd, RetFar, Iret,
    Int, Int3, Into, Syscall, Sysret, Hlt, Ud2,
    Movs, Stos, Lods, Scas, Cmps, Ins, Outs, In, Out,
    Pushf, Popf, Lahf, Sahf, Clc, Stc, Cmc, Cld, Std, Cli, Sti,
    Cpuid, Rdtsc, Rdtscp, Rdmsr, Wrmsr, Lgdt, Lidt, Sgdt, Sidt, Ltr, Lldt, Str, Sldt, Invlpg, Swapgs, Leave, Enter,
    Clts, Smsw, Lmsw, Xlat,

    // Specialised forms of the common instructions (register, immediate or memory operands known at decode time).
    MovRR, MovRI, Load, Store, StoreImm, PushR, PopR, IncR, DecR,
    AddRR, AddRI, AddRM, SubRR, SubRI, SubRM, CmpRR, CmpRI, CmpRM, CmpMR, CmpMI,
    AndRR, AndRI, OrRR, OrRI, XorRR, XorRI, TestRR, TestRI, AndRM, OrRM, XorRM,
    MovzxRR, MovzxRM, MovsxRR, MovsxRM, ShlRI, ShrRI, SarRI,
}

/// <summary>Where an operand of a micro-op lives.</summary>
internal enum OpndKind : byte
{
    None, Reg, RegHigh8, Mem, Imm, Seg, Cr, Dr,
}

/// <summary>Per-op flags decided at decode time.</summary>
[Flags]
internal enum OpFlags : byte
{
    None = 0,
    /// <summary>The block ends after this op (control transfer, mode change, page end).</summary>
    EndsBlock = 1,
    /// <summary>LOCK prefix (or implicit lock of xchg with memory).</summary>
    Lock = 2,
    /// <summary>REP / REPE prefix.</summary>
    Rep = 4,
    /// <summary>REPNE prefix.</summary>
    Repne = 8,
    /// <summary>A compare-like op fused with the following jcc: Cond, Imm2 (target relative to the next instruction) and Size2 (branch size) describe the branch.</summary>
    FusedJcc = 16,
}

/// <summary>
/// One pre-decoded instruction: the handler and its operands with registers, memory form and
/// immediates resolved, so that executing it needs no decoding. Branch targets and RIP-relative
/// displacements are stored relative to the next instruction, so a decoded physical page is
/// valid at any linear address it is mapped at.
/// </summary>
internal struct MicroOp
{
    public Op Op;
    public OpFlags Flags;
    /// <summary>Instruction length in bytes.</summary>
    public byte Len;
    /// <summary>Operand size in bytes (1, 2, 4, 8).</summary>
    public byte Size;
    /// <summary>Secondary size: source size of movzx/movsx, address size of string ops, count kind of shifts.</summary>
    public byte Size2;
    public OpndKind K0, K1, K2;
    public byte R0, R1, R2;
    /// <summary>Condition code 0-15 (x86 encoding) for jcc/cmovcc/setcc.</summary>
    public byte Cond;
    /// <summary>Memory base register 0-15, <see cref="RipBase"/>, or <see cref="NoReg"/>.</summary>
    public byte MemBase;
    public byte MemIndex;
    public byte MemScale;
    /// <summary>Segment register index (ES=0 .. GS=5).</summary>
    public byte MemSeg;
    /// <summary>Address size in bytes (2, 4, 8).</summary>
    public byte AddrSize;
    public long Disp;
    public ulong Imm;
    /// <summary>Second immediate: far selector, enter nesting level.</summary>
    public ulong Imm2;

    public const byte NoReg = 0xFF, RipBase = 16;
}
