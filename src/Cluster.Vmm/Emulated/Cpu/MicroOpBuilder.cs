using Iced.Intel;

namespace Cluster.Vmm.Emulated.Cpu;

/// <summary>Translates Iced's decoded <see cref="Instruction"/> into the executor's <see cref="MicroOp"/> form.</summary>
internal static class MicroOpBuilder
{
    /// <summary>Builds the micro-op; <see cref="Op.Invalid"/> where the instruction is not implemented.</summary>
    public static MicroOp Build(in Instruction ins, int bitness)
    {
        var m = new MicroOp { Len = (byte)ins.Length, MemBase = MicroOp.NoReg, MemIndex = MicroOp.NoReg, AddrSize = (byte)(bitness / 8) };
        if (ins.IsInvalid) return m;
        m.Op = MapOp(ins);
        if (m.Op == Op.Invalid) return m;
        if (ins.HasLockPrefix) m.Flags |= OpFlags.Lock;
        if (ins.HasRepePrefix) m.Flags |= OpFlags.Rep;
        if (ins.HasRepnePrefix) m.Flags |= OpFlags.Repne;
        m.Cond = ins.ConditionCode == ConditionCode.None ? (byte)0 : (byte)(ins.ConditionCode - ConditionCode.o);

        int n = Math.Min(ins.OpCount, 3);
        for (int i = 0; i < n; i++)
        {
            var kind = ins.GetOpKind(i);
            OpndKind k;
            byte r = 0;
            switch (kind)
            {
                case OpKind.Register:
                    (k, r) = MapRegister(ins.GetOpRegister(i));
                    if (k == OpndKind.None) { m.Op = Op.Invalid; return m; }
                    break;
                case OpKind.Memory:
                    k = OpndKind.Mem;
                    if (!SetMemory(ref m, ins, bitness)) { m.Op = Op.Invalid; return m; }
                    break;
                case OpKind.Immediate8: case OpKind.Immediate16: case OpKind.Immediate32: case OpKind.Immediate64:
                case OpKind.Immediate8to16: case OpKind.Immediate8to32: case OpKind.Immediate8to64: case OpKind.Immediate32to64:
                    k = OpndKind.Imm;
                    m.Imm = ins.GetImmediate(i);
                    break;
                case OpKind.Immediate8_2nd:
                    k = OpndKind.Imm;
                    m.Imm2 = ins.Immediate8_2nd;
                    break;
                case OpKind.NearBranch16: case OpKind.NearBranch32: case OpKind.NearBranch64:
                    k = OpndKind.Imm;
                    m.Imm = ins.NearBranchTarget - ins.NextIP;
                    break;
                case OpKind.FarBranch16: case OpKind.FarBranch32:
                    k = OpndKind.Imm;
                    m.Imm = kind == OpKind.FarBranch16 ? ins.FarBranch16 : ins.FarBranch32;
                    m.Imm2 = ins.FarBranchSelector;
                    break;
                case OpKind.MemorySegSI: case OpKind.MemorySegESI: case OpKind.MemorySegRSI:
                case OpKind.MemorySegDI: case OpKind.MemorySegEDI: case OpKind.MemorySegRDI:
                    k = OpndKind.None;
                    m.MemSeg = SegIndex(ins.MemorySegment);
                    m.AddrSize = kind is OpKind.MemorySegSI or OpKind.MemorySegDI ? (byte)2 : kind is OpKind.MemorySegESI or OpKind.MemorySegEDI ? (byte)4 : (byte)8;
                    break;
                case OpKind.MemoryESDI: case OpKind.MemoryESEDI: case OpKind.MemoryESRDI:
                    k = OpndKind.None;
                    m.AddrSize = kind == OpKind.MemoryESDI ? (byte)2 : kind == OpKind.MemoryESEDI ? (byte)4 : (byte)8;
                    break;
                default:
                    m.Op = Op.Invalid;
                    return m;
            }
            if (i == 0) { m.K0 = k; m.R0 = r; }
            else if (i == 1) { m.K1 = k; m.R1 = r; }
            else { m.K2 = k; m.R2 = r; }
        }
        m.Size = OperandSize(ins, bitness);
        FixSizes(ref m, ins);
        m.Size2 = SecondarySize(ins, m);
        if (m.Op is Op.Xchg && (m.K0 == OpndKind.Mem || m.K1 == OpndKind.Mem)) m.Flags |= OpFlags.Lock;
        if (EndsBlock(m.Op)) m.Flags |= OpFlags.EndsBlock;
        if ((m.Flags & OpFlags.Lock) == 0) Specialise(ref m);
        return m;
    }

    /// <summary>
    /// Fuses a jcc into the flag-setting op before it (compare-and-branch), when that op has no
    /// side effect but registers and flags; the fused op ends the block and retires as two.
    /// </summary>
    public static bool Fuse(ref MicroOp prev, in MicroOp jcc)
    {
        if ((prev.Flags & OpFlags.EndsBlock) != 0) return false;
        if (prev.Op is not (Op.CmpRR or Op.CmpRI or Op.CmpRM or Op.CmpMR or Op.CmpMI or Op.TestRR or Op.TestRI
            or Op.DecR or Op.IncR or Op.SubRR or Op.SubRI or Op.AddRR or Op.AddRI or Op.AndRR or Op.AndRI)) return false;
        prev.Flags |= OpFlags.FusedJcc | OpFlags.EndsBlock;
        prev.Cond = jcc.Cond;
        prev.Imm2 = jcc.Imm;
        prev.Size2 = jcc.Size;
        prev.Len += jcc.Len;
        // The fused op runs with RIP past the jcc, so a RIP-relative operand of the compare (stored
        // relative to the compare's next instruction) moves back by the jcc's length.
        if (prev.MemBase == MicroOp.RipBase) prev.Disp -= jcc.Len;
        return true;
    }

    /// <summary>Picks a specialised op for the common register/immediate/memory forms; immediates are pre-masked.</summary>
    private static void Specialise(ref MicroOp m)
    {
        var (k0, k1) = (m.K0, m.K1);
        bool r0 = k0 == OpndKind.Reg, r1 = k1 == OpndKind.Reg, i1 = k1 == OpndKind.Imm, mem1 = k1 == OpndKind.Mem;
        Op op = m.Op switch
        {
            Op.Mov when r0 && r1 => Op.MovRR,
            Op.Mov when r0 && i1 => Op.MovRI,
            Op.Mov when r0 && mem1 => Op.Load,
            Op.Mov when k0 == OpndKind.Mem && r1 => Op.Store,
            Op.Mov when k0 == OpndKind.Mem && i1 => Op.StoreImm,
            Op.Push when r0 => Op.PushR,
            Op.Pop when r0 => Op.PopR,
            Op.Inc when r0 => Op.IncR,
            Op.Dec when r0 => Op.DecR,
            Op.Add when r0 && r1 => Op.AddRR,
            Op.Add when r0 && i1 => Op.AddRI,
            Op.Add when r0 && mem1 => Op.AddRM,
            Op.Sub when r0 && r1 => Op.SubRR,
            Op.Sub when r0 && i1 => Op.SubRI,
            Op.Sub when r0 && mem1 => Op.SubRM,
            Op.Cmp when r0 && r1 => Op.CmpRR,
            Op.Cmp when r0 && i1 => Op.CmpRI,
            Op.Cmp when r0 && mem1 => Op.CmpRM,
            Op.Cmp when k0 == OpndKind.Mem && r1 => Op.CmpMR,
            Op.Cmp when k0 == OpndKind.Mem && i1 => Op.CmpMI,
            Op.And when r0 && r1 => Op.AndRR,
            Op.And when r0 && i1 => Op.AndRI,
            Op.Or when r0 && r1 => Op.OrRR,
            Op.Or when r0 && i1 => Op.OrRI,
            Op.Xor when r0 && r1 => Op.XorRR,
            Op.Xor when r0 && i1 => Op.XorRI,
            Op.And when r0 && mem1 => Op.AndRM,
            Op.Or when r0 && mem1 => Op.OrRM,
            Op.Xor when r0 && mem1 => Op.XorRM,
            Op.Movzx when r1 => Op.MovzxRR,
            Op.Movzx when mem1 => Op.MovzxRM,
            Op.Movsx when r1 => Op.MovsxRR,
            Op.Movsx when mem1 => Op.MovsxRM,
            Op.Shl when r0 && i1 => Op.ShlRI,
            Op.Shr when r0 && i1 => Op.ShrRI,
            Op.Sar when r0 && i1 => Op.SarRI,
            Op.Test when r0 && r1 => Op.TestRR,
            Op.Test when r0 && i1 => Op.TestRI,
            _ => m.Op,
        };
        if (op == m.Op) return;
        if (op is Op.ShlRI or Op.ShrRI or Op.SarRI)
        {
            m.Imm &= m.Size == 8 ? 63UL : 31UL;
            if (m.Imm == 0) return;
            m.Op = op;
            return;
        }
        m.Op = op;
        if (i1) m.Imm &= ulong.MaxValue >> (64 - m.Size * 8);
    }

    private static bool EndsBlock(Op op) => op switch
    {
        Op.Jcc or Op.Jmp or Op.JmpInd or Op.Call or Op.CallInd or Op.Ret or Op.Loop or Op.Loope or Op.Loopne or Op.Jrcxz
            or Op.JmpFar or Op.JmpFarInd or Op.CallFar or Op.CallFarInd or Op.RetFar or Op.Iret or Op.Int or Op.Int3 or Op.Into
            or Op.Syscall or Op.Sysret or Op.Hlt or Op.Ud2 or Op.MovToSeg or Op.PopSeg or Op.MovToCr or Op.Wrmsr or Op.Popf
            or Op.Sti or Op.Cli or Op.Lgdt or Op.Lidt or Op.Ltr or Op.Lldt or Op.Invlpg or Op.Swapgs or Op.In or Op.Out
            or Op.Ins or Op.Outs or Op.Lmsw or Op.Clts or Op.Invalid or Op.CrossPage => true,
        _ => false,
    };

    /// <summary>Sizes that the generic rule gets wrong: string ops, OUT, branches, LOOP/JCXZ counters.</summary>
    private static void FixSizes(ref MicroOp m, in Instruction ins)
    {
        switch (m.Op)
        {
            case Op.Movs: case Op.Stos: case Op.Lods: case Op.Scas: case Op.Cmps: case Op.Ins: case Op.Outs:
                m.Size = ins.Mnemonic.ToString()[^1] switch { 'b' => 1, 'w' => 2, 'd' => 4, _ => 8 };
                break;
            case Op.Out:
                m.Size = (byte)ins.GetOpRegister(1).GetSize();
                break;
            case Op.Jcc: case Op.Jmp: case Op.Call: case Op.Loop: case Op.Loope: case Op.Loopne: case Op.Jrcxz:
                m.Size = ins.GetOpKind(0) switch { OpKind.NearBranch16 => 2, OpKind.NearBranch32 => 4, _ => 8 };
                if (m.Op == Op.Jrcxz)
                    m.AddrSize = ins.Mnemonic switch { Mnemonic.Jcxz => 2, Mnemonic.Jecxz => 4, _ => 8 };
                else if (m.Op is Op.Loop or Op.Loope or Op.Loopne)
                {
                    string code = ins.Code.ToString();
                    m.AddrSize = code.EndsWith("RCX", StringComparison.Ordinal) ? (byte)8 : code.EndsWith("ECX", StringComparison.Ordinal) ? (byte)4 : (byte)2;
                }
                break;
        }
    }

    private static byte OperandSize(in Instruction ins, int bitness)
    {
        if (ins.OpCount > 0)
        {
            var k = ins.GetOpKind(0);
            if (k == OpKind.Register)
            {
                var r = ins.GetOpRegister(0);
                if (r.IsGPR()) return (byte)r.GetSize();
            }
            if (k == OpKind.Memory)
            {
                int s = ins.MemorySize.GetSize();
                if (s is 1 or 2 or 4 or 8) return (byte)s;
            }
        }
        var os = ins.Code.ToOpCode().OperandSize;
        if (os != 0) return (byte)(os / 8);
        if (ins.OpCount > 1 && ins.GetOpKind(1) == OpKind.Register && ins.GetOpRegister(1).IsGPR()) return (byte)ins.GetOpRegister(1).GetSize();
        return bitness == 64 ? (byte)8 : (byte)(bitness / 8);
    }

    private static byte SecondarySize(in Instruction ins, in MicroOp m)
    {
        if (ins.OpCount > 1)
        {
            var k = ins.GetOpKind(1);
            if (k == OpKind.Register && ins.GetOpRegister(1).IsGPR()) return (byte)ins.GetOpRegister(1).GetSize();
            if (k == OpKind.Memory) { int s = ins.MemorySize.GetSize(); if (s is 1 or 2 or 4 or 8) return (byte)s; }
        }
        return m.AddrSize;
    }

    private static (OpndKind, byte) MapRegister(Register r)
    {
        if (r >= Register.AH && r <= Register.BH) return (OpndKind.RegHigh8, (byte)(r - Register.AH));
        if (r.IsGPR()) return (OpndKind.Reg, (byte)(r.GetFullRegister() - Register.RAX));
        if (r >= Register.ES && r <= Register.GS) return (OpndKind.Seg, (byte)(r - Register.ES));
        if (r >= Register.CR0 && r <= Register.CR15) return (OpndKind.Cr, (byte)(r - Register.CR0));
        if (r >= Register.DR0 && r <= Register.DR15) return (OpndKind.Dr, (byte)(r - Register.DR0));
        return (OpndKind.None, 0);
    }

    private static bool SetMemory(ref MicroOp m, in Instruction ins, int bitness)
    {
        m.MemSeg = SegIndex(ins.MemorySegment);
        var b = ins.MemoryBase;
        var x = ins.MemoryIndex;
        if (b == Register.RIP || b == Register.EIP)
        {
            m.MemBase = MicroOp.RipBase;
            m.Disp = (long)(ins.MemoryDisplacement64 - ins.NextIP);
            m.AddrSize = b == Register.RIP ? (byte)8 : (byte)4;
            return true;
        }
        if (b != Register.None)
        {
            if (!b.IsGPR()) return false;
            m.MemBase = (byte)(b.GetFullRegister() - Register.RAX);
            m.AddrSize = (byte)b.GetSize();
        }
        if (x != Register.None)
        {
            if (!x.IsGPR()) return false;
            m.MemIndex = (byte)(x.GetFullRegister() - Register.RAX);
            m.MemScale = (byte)System.Numerics.BitOperations.Log2((uint)ins.MemoryIndexScale);
            m.AddrSize = (byte)x.GetSize();
        }
        if (b == Register.None && x == Register.None)
            m.AddrSize = ins.MemoryDisplSize switch { 2 => 2, 4 => 4, 8 => 8, _ => (byte)(bitness / 8) };
        m.Disp = (long)ins.MemoryDisplacement64;
        return true;
    }

    private static Op MapOp(in Instruction ins)
    {
        var mn = ins.Mnemonic;
        switch (mn)
        {
            case Mnemonic.Mov:
                if (ins.OpCount == 2)
                {
                    if (IsReg(ins, 0, Register.ES, Register.GS)) return Op.MovToSeg;
                    if (IsReg(ins, 1, Register.ES, Register.GS)) return Op.MovFromSeg;
                    if (IsReg(ins, 0, Register.CR0, Register.CR15)) return Op.MovToCr;
                    if (IsReg(ins, 1, Register.CR0, Register.CR15)) return Op.MovFromCr;
                    if (IsReg(ins, 0, Register.DR0, Register.DR15)) return Op.MovToDr;
                    if (IsReg(ins, 1, Register.DR0, Register.DR15)) return Op.MovFromDr;
                }
                return Op.Mov;
            case Mnemonic.Movzx: return Op.Movzx;
            case Mnemonic.Movsx: case Mnemonic.Movsxd: return Op.Movsx;
            case Mnemonic.Lea: return Op.Lea;
            case Mnemonic.Push: return ins.OpCount == 1 && IsReg(ins, 0, Register.ES, Register.GS) ? Op.PushSeg : Op.Push;
            case Mnemonic.Pop: return ins.OpCount == 1 && IsReg(ins, 0, Register.ES, Register.GS) ? Op.PopSeg : Op.Pop;
            case Mnemonic.Pusha: case Mnemonic.Pushad: return Op.Pusha;
            case Mnemonic.Popa: case Mnemonic.Popad: return Op.Popa;
            case Mnemonic.Xchg: return Op.Xchg;
            case Mnemonic.Bswap: return Op.Bswap;
            case Mnemonic.Cbw: case Mnemonic.Cwde: case Mnemonic.Cdqe: return Op.Cbw;
            case Mnemonic.Cwd: case Mnemonic.Cdq: case Mnemonic.Cqo: return Op.Cwd;
            case Mnemonic.Add: return Op.Add;
            case Mnemonic.Or: return Op.Or;
            case Mnemonic.Adc: return Op.Adc;
            case Mnemonic.Sbb: return Op.Sbb;
            case Mnemonic.And: return Op.And;
            case Mnemonic.Sub: return Op.Sub;
            case Mnemonic.Xor: return Op.Xor;
            case Mnemonic.Cmp: return Op.Cmp;
            case Mnemonic.Test: return Op.Test;
            case Mnemonic.Not: return Op.Not;
            case Mnemonic.Neg: return Op.Neg;
            case Mnemonic.Inc: return Op.Inc;
            case Mnemonic.Dec: return Op.Dec;
            case Mnemonic.Rol: return Op.Rol;
            case Mnemonic.Ror: return Op.Ror;
            case Mnemonic.Rcl: return Op.Rcl;
            case Mnemonic.Rcr: return Op.Rcr;
            case Mnemonic.Shl: case Mnemonic.Sal: return Op.Shl;
            case Mnemonic.Shr: return Op.Shr;
            case Mnemonic.Sar: return Op.Sar;
            case Mnemonic.Shld: return Op.Shld;
            case Mnemonic.Shrd: return Op.Shrd;
            case Mnemonic.Mul: return Op.Mul;
            case Mnemonic.Imul: return ins.OpCount == 1 ? Op.Imul1 : Op.Imul2;
            case Mnemonic.Div: return Op.Div;
            case Mnemonic.Idiv: return Op.Idiv;
            case Mnemonic.Bt: return Op.Bt;
            case Mnemonic.Bts: return Op.Bts;
            case Mnemonic.Btr: return Op.Btr;
            case Mnemonic.Btc: return Op.Btc;
            case Mnemonic.Bsf: return Op.Bsf;
            case Mnemonic.Bsr: return Op.Bsr;
            case Mnemonic.Tzcnt: return Op.Tzcnt;
            case Mnemonic.Lzcnt: return Op.Lzcnt;
            case Mnemonic.Popcnt: return Op.Popcnt;
            case Mnemonic.Xadd: return Op.Xadd;
            case Mnemonic.Cmpxchg: return Op.Cmpxchg;
            case Mnemonic.Cmpxchg8b: return Op.Cmpxchg8b;
            case Mnemonic.Cmpxchg16b: return Op.Cmpxchg16b;
            case Mnemonic.Jmp:
                return ins.GetOpKind(0) switch
                {
                    OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64 => Op.Jmp,
                    OpKind.FarBranch16 or OpKind.FarBranch32 => Op.JmpFar,
                    _ => ins.GetOpKind(0) == OpKind.Memory && IsFarMemory(ins) ? Op.JmpFarInd : Op.JmpInd,
                };
            case Mnemonic.Call:
                return ins.GetOpKind(0) switch
                {
                    OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64 => Op.Call,
                    OpKind.FarBranch16 or OpKind.FarBranch32 => Op.CallFar,
                    _ => ins.GetOpKind(0) == OpKind.Memory && IsFarMemory(ins) ? Op.CallFarInd : Op.CallInd,
                };
            case Mnemonic.Ret: return Op.Ret;
            case Mnemonic.Retf: return Op.RetFar;
            case Mnemonic.Loop: return Op.Loop;
            case Mnemonic.Loope: return Op.Loope;
            case Mnemonic.Loopne: return Op.Loopne;
            case Mnemonic.Jcxz: case Mnemonic.Jecxz: case Mnemonic.Jrcxz: return Op.Jrcxz;
            case Mnemonic.Iret: case Mnemonic.Iretd: case Mnemonic.Iretq: return Op.Iret;
            case Mnemonic.Int: return Op.Int;
            case Mnemonic.Int3: return Op.Int3;
            case Mnemonic.Into: return Op.Into;
            case Mnemonic.Syscall: return Op.Syscall;
            case Mnemonic.Sysret: case Mnemonic.Sysretq: return Op.Sysret;
            case Mnemonic.Hlt: return Op.Hlt;
            case Mnemonic.Ud2: return Op.Ud2;
            case Mnemonic.Movsb: case Mnemonic.Movsw: case Mnemonic.Movsq: return Op.Movs;
            case Mnemonic.Movsd: return ins.OpCount == 2 && ins.GetOpKind(1) is OpKind.MemorySegSI or OpKind.MemorySegESI or OpKind.MemorySegRSI ? Op.Movs : Op.Invalid;
            case Mnemonic.Stosb: case Mnemonic.Stosw: case Mnemonic.Stosd: case Mnemonic.Stosq: return Op.Stos;
            case Mnemonic.Lodsb: case Mnemonic.Lodsw: case Mnemonic.Lodsd: case Mnemonic.Lodsq: return Op.Lods;
            case Mnemonic.Scasb: case Mnemonic.Scasw: case Mnemonic.Scasd: case Mnemonic.Scasq: return Op.Scas;
            case Mnemonic.Cmpsb: case Mnemonic.Cmpsw: case Mnemonic.Cmpsq: return Op.Cmps;
            case Mnemonic.Cmpsd: return ins.OpCount == 2 && ins.GetOpKind(0) is OpKind.MemorySegSI or OpKind.MemorySegESI or OpKind.MemorySegRSI ? Op.Cmps : Op.Invalid;
            case Mnemonic.Insb: case Mnemonic.Insw: case Mnemonic.Insd: return Op.Ins;
            case Mnemonic.Outsb: case Mnemonic.Outsw: case Mnemonic.Outsd: return Op.Outs;
            case Mnemonic.In: return Op.In;
            case Mnemonic.Out: return Op.Out;
            case Mnemonic.Pushf: case Mnemonic.Pushfd: case Mnemonic.Pushfq: return Op.Pushf;
            case Mnemonic.Popf: case Mnemonic.Popfd: case Mnemonic.Popfq: return Op.Popf;
            case Mnemonic.Lahf: return Op.Lahf;
            case Mnemonic.Sahf: return Op.Sahf;
            case Mnemonic.Clc: return Op.Clc;
            case Mnemonic.Stc: return Op.Stc;
            case Mnemonic.Cmc: return Op.Cmc;
            case Mnemonic.Cld: return Op.Cld;
            case Mnemonic.Std: return Op.Std;
            case Mnemonic.Cli: return Op.Cli;
            case Mnemonic.Sti: return Op.Sti;
            case Mnemonic.Cpuid: return Op.Cpuid;
            case Mnemonic.Rdtsc: return Op.Rdtsc;
            case Mnemonic.Rdtscp: return Op.Rdtscp;
            case Mnemonic.Rdmsr: return Op.Rdmsr;
            case Mnemonic.Wrmsr: return Op.Wrmsr;
            case Mnemonic.Lgdt: return Op.Lgdt;
            case Mnemonic.Lidt: return Op.Lidt;
            case Mnemonic.Sgdt: return Op.Sgdt;
            case Mnemonic.Sidt: return Op.Sidt;
            case Mnemonic.Ltr: return Op.Ltr;
            case Mnemonic.Lldt: return Op.Lldt;
            case Mnemonic.Str: return Op.Str;
            case Mnemonic.Sldt: return Op.Sldt;
            case Mnemonic.Invlpg: return Op.Invlpg;
            case Mnemonic.Swapgs: return Op.Swapgs;
            case Mnemonic.Leave: return Op.Leave;
            case Mnemonic.Enter: return Op.Enter;
            case Mnemonic.Clts: return Op.Clts;
            case Mnemonic.Smsw: return Op.Smsw;
            case Mnemonic.Lmsw: return Op.Lmsw;
            case Mnemonic.Xlatb: return Op.Xlat;
            case Mnemonic.Nop: case Mnemonic.Pause: case Mnemonic.Mfence: case Mnemonic.Lfence: case Mnemonic.Sfence:
            case Mnemonic.Endbr64: case Mnemonic.Endbr32: case Mnemonic.Wbinvd: case Mnemonic.Invd:
            case Mnemonic.Prefetchnta: case Mnemonic.Prefetcht0: case Mnemonic.Prefetcht1: case Mnemonic.Prefetcht2: case Mnemonic.Prefetchw:
                return Op.Nop;
            default:
                if (mn is Mnemonic.Cmovo or Mnemonic.Cmovno or Mnemonic.Cmovb or Mnemonic.Cmovae or Mnemonic.Cmove or Mnemonic.Cmovne
                    or Mnemonic.Cmovbe or Mnemonic.Cmova or Mnemonic.Cmovs or Mnemonic.Cmovns or Mnemonic.Cmovp or Mnemonic.Cmovnp
                    or Mnemonic.Cmovl or Mnemonic.Cmovge or Mnemonic.Cmovle or Mnemonic.Cmovg) return Op.Cmov;
                if (mn is Mnemonic.Seto or Mnemonic.Setno or Mnemonic.Setb or Mnemonic.Setae or Mnemonic.Sete or Mnemonic.Setne
                    or Mnemonic.Setbe or Mnemonic.Seta or Mnemonic.Sets or Mnemonic.Setns or Mnemonic.Setp or Mnemonic.Setnp
                    or Mnemonic.Setl or Mnemonic.Setge or Mnemonic.Setle or Mnemonic.Setg) return Op.Setcc;
                if (ins.IsJccShortOrNear) return Op.Jcc;
                return Op.Invalid;
        }
    }

    /// <summary>ES=0 .. GS=5; anything else (no segment) as DS, so the index always lies in 0-5.</summary>
    private static byte SegIndex(Register r) => r >= Register.ES && r <= Register.GS ? (byte)(r - Register.ES) : (byte)3;

    private static bool IsFarMemory(in Instruction ins) =>
        ins.MemorySize is MemorySize.SegPtr16 or MemorySize.SegPtr32 or MemorySize.SegPtr64;

    private static bool IsReg(in Instruction ins, int i, Register lo, Register hi) =>
        ins.GetOpKind(i) == OpKind.Register && ins.GetOpRegister(i) >= lo && ins.GetOpRegister(i) <= hi;
}
