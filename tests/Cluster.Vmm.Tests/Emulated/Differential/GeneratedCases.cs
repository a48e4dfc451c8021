using Cluster.Vmm.Emulated.Cpu;
using Iced.Intel;

namespace Cluster.Vmm.Tests.Emulated.Differential;

/// <summary>What reads the flags right after the producer.</summary>
internal enum Consumer
{
    /// <summary>jcc over "mov r11d, 1" (compare-like producers fuse with it).</summary>
    Jcc,
    /// <summary>setcc r11b.</summary>
    Setcc,
    /// <summary>cmovcc r12, r13.</summary>
    Cmovcc,
    /// <summary>adc r11, r12 (even condition) or sbb r11d, r12d (odd).</summary>
    AdcSbb,
    /// <summary>pushfq; pop r11.</summary>
    Pushf,
}

/// <summary>
/// A producer, a flag consumer after it, and the encoded snippet (a NOP first, so that even a lone
/// compare-and-branch makes a block the IL compiler takes; PUSH and POP paired so that RSP balances).
/// </summary>
internal sealed record Snippet(Producer Producer, Consumer Consumer, int Cond, byte[] Code)
{
    public string Name => $"{Producer.Name} + {ConsumerName}";

    public string ConsumerName => Consumer switch
    {
        Consumer.Jcc => $"j{Conds[Cond]}",
        Consumer.Setcc => $"set{Conds[Cond]}",
        Consumer.Cmovcc => $"cmov{Conds[Cond]}",
        Consumer.AdcSbb => (Cond & 1) == 0 ? "adc" : "sbb",
        _ => "pushf",
    };

    public static readonly string[] Conds = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
}

/// <summary>
/// Generates the snippets: every claimed, host-runnable code (<see cref="InstructionForms.Claimed"/>)
/// in every addressing form it has (registers, high-byte registers, one register in both operands, RIP-relative, SIB with
/// index*scale, 32-bit addressing, FS and GS overrides, moffs, LOCK on memory destinations), with the
/// immediates of <see cref="Immediates"/>, each followed by each <see cref="Consumer"/>.
/// </summary>
internal static class GeneratedCases
{
    private static readonly Dictionary<(ulong, ulong), IReadOnlyList<Snippet>> Cache = [];

    /// <summary>The snippets at <paramref name="ip"/>, operands at <paramref name="operand"/>; the order is stable (generated once per address pair).</summary>
    public static IReadOnlyList<Snippet> All(ulong ip, ulong operand)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue((ip, operand), out var list)) Cache[(ip, operand)] = list = Generate(ip, operand);
            return list;
        }
    }

    private static List<Snippet> Generate(ulong ip, ulong operand)
    {
        var list = new List<Snippet>();
        int k = 0;
        foreach (var claim in InstructionForms.Claimed())
        {
            if (claim.Skipped is not null || !HostRuns(claim.Code)) continue;
            foreach (var p in Producers(claim.Code, claim.Op, ip + 1, operand))
                foreach (var consumer in Enum.GetValues<Consumer>())
                {
                    // Conditions rotate over the snippets so that every one follows every kind of producer somewhere.
                    int cond = (k++ * 7 + (int)consumer) & 15;
                    var code = Encode(p, consumer, cond, ip);
                    if (code is not null) list.Add(new Snippet(p, consumer, cond, code));
                }
        }
        return list;
    }

    /// <summary>Whether this host runs the code at all (BMI1's TZCNT, LZCNT and POPCNT decode as something else, or fault, without their CPUID bits).</summary>
    public static bool HostRuns(Code code) => code.ToOpCode().Mnemonic switch
    {
        Mnemonic.Tzcnt => System.Runtime.Intrinsics.X86.Bmi1.IsSupported,
        Mnemonic.Lzcnt => System.Runtime.Intrinsics.X86.Lzcnt.IsSupported,
        Mnemonic.Popcnt => System.Runtime.Intrinsics.X86.Popcnt.IsSupported,
        Mnemonic.Cmpxchg16b => System.Runtime.Intrinsics.X86.X86Base.X64.IsSupported,
        _ => true,
    };

    private static IEnumerable<Producer> Producers(Code code, Op op, ulong ip, ulong operand)
    {
        var info = code.ToOpCode();
        int variant = (int)code;
        foreach (var imm in Immediates(info))
        {
            foreach (var mem in Enum.GetValues<MemForm>())
                foreach (var p in InstructionForms.Instantiate(code, mem, high8: false, operand, ip, imm, variant))
                {
                    yield return p;
                    if (mem is MemForm.Rip or MemForm.Sib && info.CanUseLockPrefix && IsDestination(p))
                    {
                        var locked = p.Ins;
                        locked.HasLockPrefix = true;
                        if (InstructionForms.Encode(locked, ip) is not null && InstructionForms.Build(locked) == op)
                            yield return p with { Ins = locked, Name = "lock " + p.Name };
                    }
                }
            foreach (var mem in new[] { MemForm.None, MemForm.Rip })
                foreach (var p in InstructionForms.Instantiate(code, mem, high8: true, operand, ip, imm, variant))
                    yield return p;
            // Both register operands the same register (xadd rbx,rbx; cmpxchg; xchg; sub; imul ...).
            foreach (var p in InstructionForms.Instantiate(code, MemForm.None, high8: false, operand, ip, imm, variant, sameRegister: true))
                yield return p;
        }
    }

    private static bool IsDestination(Producer p) => p.Slots.Length > 0 && p.Slots[0].Kind == SlotKind.Mem;

    /// <summary>The immediates a code is generated with: counts around the widths for shifts, edges of the immediate's width otherwise.</summary>
    public static IEnumerable<ulong> Immediates(OpCodeInfo info)
    {
        bool hasImm = false;
        for (int i = 0; i < info.OpCount; i++)
            hasImm |= info.GetOpKind(i) is OpCodeOperandKind.imm8 or OpCodeOperandKind.imm16 or OpCodeOperandKind.imm32 or OpCodeOperandKind.imm64
                or OpCodeOperandKind.imm8sex16 or OpCodeOperandKind.imm8sex32 or OpCodeOperandKind.imm8sex64 or OpCodeOperandKind.imm32sex64;
        if (!hasImm) return [0];
        return info.Mnemonic switch
        {
            Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar or Mnemonic.Rol or Mnemonic.Ror or Mnemonic.Rcl or Mnemonic.Rcr
                or Mnemonic.Shld or Mnemonic.Shrd => [0, 1, 2, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 0x41, 0xE1],
            Mnemonic.Bt or Mnemonic.Bts or Mnemonic.Btr or Mnemonic.Btc => [0, 7, 13, 31, 63, 0x8F],
            _ => [1, 0x7F, 0x80, 0xFF, 0x8000_0071, 0xFFFF_FFFF_FFFF_FFFF, 0x0123_4567_89AB_CDEF],
        };
    }

    /// <summary>nop; the producer; the consumer (at <paramref name="ip"/>); null when the producer does not encode there.</summary>
    private static byte[]? Encode(Producer p, Consumer consumer, int cond, ulong ip)
    {
        var bytes = new List<byte> { 0x90 };
        // PUSH and POP run as balanced pairs: push X; pop r14 (r14w for 16-bit pushes), and push r13 (r13w); pop X.
        bool wordStack = p.Code.ToOpCode().OperandSize == 16;
        if (p.Mnemonic == Mnemonic.Pop)
            bytes.AddRange(InstructionForms.Encode(wordStack ? Instruction.Create(Code.Push_r16, Register.R13W) : Instruction.Create(Code.Push_r64, Register.R13), ip + 1)!);
        var prod = InstructionForms.Encode(p.Ins, ip + (ulong)bytes.Count);
        if (prod is null) return null;
        bytes.AddRange(prod);
        if (p.Mnemonic == Mnemonic.Push)
            bytes.AddRange(InstructionForms.Encode(wordStack ? Instruction.Create(Code.Pop_r16, Register.R14W) : Instruction.Create(Code.Pop_r64, Register.R14), 0)!);
        ulong at = ip + (ulong)bytes.Count;
        string cc = Snippet.Conds[cond];
        switch (consumer)
        {
            case Consumer.Jcc:
                {
                    var skip = InstructionForms.Encode(Instruction.Create(Code.Mov_r32_imm32, Register.R11D, 1), 0)!;
                    var jcc = Instruction.CreateBranch(Enum.Parse<Code>($"J{cc}_rel8_64", ignoreCase: true), at + 2 + (ulong)skip.Length);
                    bytes.AddRange(InstructionForms.Encode(jcc, at)!);
                    bytes.AddRange(skip);
                    break;
                }
            case Consumer.Setcc:
                bytes.AddRange(InstructionForms.Encode(Instruction.Create(Enum.Parse<Code>($"Set{cc}_rm8", ignoreCase: true), Register.R11L), at)!);
                break;
            case Consumer.Cmovcc:
                bytes.AddRange(InstructionForms.Encode(Instruction.Create(Enum.Parse<Code>($"Cmov{cc}_r64_rm64", ignoreCase: true), Register.R12, Register.R13), at)!);
                break;
            case Consumer.AdcSbb:
                bytes.AddRange(InstructionForms.Encode((cond & 1) == 0
                    ? Instruction.Create(Code.Adc_rm64_r64, Register.R11, Register.R12)
                    : Instruction.Create(Code.Sbb_rm32_r32, Register.R11D, Register.R12D), at)!);
                break;
            default:
                bytes.AddRange(InstructionForms.Encode(Instruction.Create(Code.Pushfq), at)!);
                bytes.AddRange(InstructionForms.Encode(Instruction.Create(Code.Pop_r64, Register.R11), at + 1)!);
                break;
        }
        return [.. bytes];
    }
}
