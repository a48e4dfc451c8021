using Cluster.Vmm.Emulated.Cpu;
using Iced.Intel;

namespace Cluster.Vmm.Tests.Emulated.Differential;

/// <summary>How a generated instruction addresses its memory operand.</summary>
internal enum MemForm
{
    /// <summary>Register operands only.</summary>
    None,
    /// <summary>[rip + disp32].</summary>
    Rip,
    /// <summary>[rsi + rdi*scale + disp] (SIB with an index).</summary>
    Sib,
    /// <summary>[esi + edi*scale + disp] with the 0x67 address-size prefix.</summary>
    Addr32,
    /// <summary>fs:[rbp + disp] with the FS base of the host thread.</summary>
    Fs,
    /// <summary>gs:[rbp + disp] with the GS base of the host thread.</summary>
    Gs,
    /// <summary>An absolute moffs64 (mov al/ax/eax/rax only).</summary>
    Moffs,
}

/// <summary>Where one operand's value lives in a generated case.</summary>
internal enum SlotKind { Reg, High8, Mem, Imm }

/// <summary>An explicit or implicit operand of a generated instruction: its register (full 64-bit family) or memory, and its size.</summary>
internal readonly record struct Slot(SlotKind Kind, Register Family, int Size);

/// <summary>
/// One generated instruction: an Iced code the emulator claims, with its operands placed in
/// registers or at <see cref="InstructionForms.OperandAddress"/> through one addressing form.
/// </summary>
internal sealed record Producer(Code Code, Instruction Ins, MemForm Mem, Slot[] Slots, int Scale, long Disp, string Name)
{
    public Mnemonic Mnemonic => Ins.Mnemonic;

    /// <summary>Operand size of the operation in bytes (the first operand's, or the instruction's).</summary>
    public int Size => Slots.Length > 0 && Slots[0].Kind != SlotKind.Imm ? Slots[0].Size : Code.ToOpCode().OperandSize / 8;
}

/// <summary>
/// The instruction forms to compare with the host, derived from the emulator's own decoder: every
/// legacy-encoded Iced <see cref="Code"/> valid in 64-bit mode that <see cref="MicroOpBuilder"/>
/// turns into a micro-op other than <see cref="Op.Invalid"/>, less those that cannot run as a user
/// snippet on the host (control transfers, flags and frame stack ops, string, I/O and system ops: <see cref="NotNative"/>),
/// instantiated with register operands and with each memory addressing form of <see cref="MemForm"/>.
/// </summary>
internal static class InstructionForms
{
    /// <summary>Where every generated memory operand points (the middle of the data page).</summary>
    public static ulong OperandAddress(ulong dataPage) => dataPage + 0x800;

    /// <summary>Micro-ops that a user-mode snippet cannot run the same way on the host, with why.</summary>
    public static readonly IReadOnlyDictionary<Op, string> NotNative = new Dictionary<Op, string>
    {
        [Op.Jcc] = "control transfer (a flag consumer instead)", [Op.Jmp] = "control transfer", [Op.JmpInd] = "control transfer",
        [Op.Call] = "control transfer", [Op.CallInd] = "control transfer", [Op.Ret] = "control transfer",
        [Op.Loop] = "control transfer", [Op.Loope] = "control transfer", [Op.Loopne] = "control transfer", [Op.Jrcxz] = "control transfer",
        [Op.JmpFar] = "far transfer", [Op.JmpFarInd] = "far transfer", [Op.CallFar] = "far transfer", [Op.CallFarInd] = "far transfer",
        [Op.RetFar] = "far transfer", [Op.Iret] = "far transfer", [Op.Int] = "exception", [Op.Int3] = "exception", [Op.Into] = "exception",
        [Op.Syscall] = "system", [Op.Sysret] = "system", [Op.Hlt] = "privileged", [Op.Ud2] = "exception",
        [Op.PushSeg] = "segments differ",
        [Op.PopSeg] = "segments differ", [Op.Pusha] = "stack", [Op.Popa] = "stack", [Op.Pushf] = "stack (a flag consumer instead)", [Op.Popf] = "stack",
        [Op.Leave] = "stack", [Op.Enter] = "stack",
        [Op.Movs] = "string (EmulatedVcpuStringTests)", [Op.Stos] = "string", [Op.Lods] = "string", [Op.Scas] = "string", [Op.Cmps] = "string",
        [Op.Ins] = "I/O", [Op.Outs] = "I/O", [Op.In] = "I/O", [Op.Out] = "I/O",
        [Op.MovToSeg] = "segments differ", [Op.MovFromSeg] = "segments differ", [Op.MovToCr] = "privileged", [Op.MovFromCr] = "privileged",
        [Op.MovToDr] = "privileged", [Op.MovFromDr] = "privileged", [Op.Cli] = "privileged", [Op.Sti] = "privileged",
        [Op.Cld] = "DF (the host ABI)", [Op.Std] = "DF (the host ABI)",
        [Op.Cpuid] = "differs by design", [Op.Rdtsc] = "time", [Op.Rdtscp] = "time", [Op.Rdmsr] = "privileged", [Op.Wrmsr] = "privileged",
        [Op.Lgdt] = "privileged", [Op.Lidt] = "privileged", [Op.Sgdt] = "UMIP", [Op.Sidt] = "UMIP", [Op.Ltr] = "privileged", [Op.Lldt] = "privileged",
        [Op.Str] = "UMIP", [Op.Sldt] = "UMIP", [Op.Invlpg] = "privileged", [Op.Swapgs] = "privileged", [Op.Clts] = "privileged",
        [Op.Smsw] = "UMIP", [Op.Lmsw] = "privileged", [Op.Xlat] = "table in RBX (real programs)",
    };

    /// <summary>Mnemonics the emulator maps to a NOP that the host would not run in user mode.</summary>
    private static readonly HashSet<Mnemonic> PrivilegedNops = [Mnemonic.Wbinvd, Mnemonic.Invd];

    /// <summary>A claimed code and the micro-op it decodes to, or why it is left out.</summary>
    public sealed record Claim(Code Code, Op Op, string? Skipped);

    /// <summary>Every code the emulator claims in 64-bit mode (legacy encoding), with its micro-op.</summary>
    public static List<Claim> Claimed()
    {
        var list = new List<Claim>();
        foreach (Code code in Enum.GetValues<Code>())
        {
            var info = code.ToOpCode();
            if (!info.IsInstruction || info.Encoding != EncodingKind.Legacy || !info.Mode64) continue;
            var p = Enum.GetValues<MemForm>().Select(mem => Instantiate(code, mem, high8: false, 0x1000_0800UL, 0x1000_0000UL, 0, 0).FirstOrDefault())
                .FirstOrDefault(x => x is not null);
            // Codes with operand kinds the generator does not place (segment, control, debug registers, far pointers) are left out.
            if (p is null) continue;
            var built = Build(p.Ins);
            if (built == Op.Invalid) continue;
            string? skip = NotNative.TryGetValue(built, out var why) ? why : PrivilegedNops.Contains(p.Mnemonic) ? "privileged" : null;
            list.Add(new Claim(code, built, skip));
        }
        return list;
    }

    /// <summary>The emulator's micro-op for a generated instruction: encoded, decoded by Iced as the emulator does, then built.</summary>
    public static Op Build(in Instruction ins)
    {
        var bytes = Encode(ins, 0x1000_0000UL);
        if (bytes is null) return Op.Invalid;
        var dec = Decoder.Create(64, new ByteArrayCodeReader(bytes), 0x1000_0000UL);
        dec.Decode(out var d);
        return MicroOpBuilder.Build(d, 64).Op;
    }

    public static byte[]? Encode(in Instruction ins, ulong ip)
    {
        var w = new BytesWriter();
        var enc = Encoder.Create(64, w);
        return enc.TryEncode(ins, ip, out _, out _) ? w.Bytes.ToArray() : null;
    }

    private sealed class BytesWriter : CodeWriter
    {
        public readonly List<byte> Bytes = [];
        public override void WriteByte(byte value) => Bytes.Add(value);
    }

    /// <summary>
    /// The instantiations of <paramref name="code"/> for one addressing form (none when the code has no
    /// memory operand and <paramref name="mem"/> asks for one, or the reverse): register operands from
    /// RBX and RDX (BH and DH with <paramref name="high8"/>, RBX twice with <paramref name="sameRegister"/>), CL for counts, the accumulator where implicit;
    /// memory at <paramref name="operand"/>; immediates as given (<paramref name="imm"/>) or 1 for the constant-1 forms.
    /// </summary>
    public static IEnumerable<Producer> Instantiate(Code code, MemForm mem, bool high8, ulong operand, ulong ip, ulong imm, int variant, bool sameRegister = false)
    {
        var info = code.ToOpCode();
        var ins = new Instruction { Code = code };
        var slots = new List<Slot>();
        Register[] pool = sameRegister ? [Register.RBX, Register.RBX] : high8 ? [Register.BH, Register.DH] : [Register.RBX, Register.RDX];
        int next = 0;
        bool usedMem = false, usedHigh = false;
        int scale = 1 << (variant & 3);
        long disp = (variant & 4) != 0 ? 0x1234 : -0x10;
        for (int i = 0; i < info.OpCount; i++)
        {
            var k = info.GetOpKind(i);
            switch (k)
            {
                case OpCodeOperandKind.r8_or_mem: case OpCodeOperandKind.r16_or_mem: case OpCodeOperandKind.r32_or_mem: case OpCodeOperandKind.r64_or_mem:
                case OpCodeOperandKind.mem: case OpCodeOperandKind.mem_offs:
                    {
                        int size = k switch
                        {
                            OpCodeOperandKind.r8_or_mem => 1, OpCodeOperandKind.r16_or_mem => 2, OpCodeOperandKind.r32_or_mem => 4,
                            OpCodeOperandKind.r64_or_mem => 8, _ => 0,
                        };
                        bool memOnly = k is OpCodeOperandKind.mem or OpCodeOperandKind.mem_offs;
                        if (mem == MemForm.None)
                        {
                            if (memOnly) yield break;
                            if (!Reg(ref ins, i, pool, ref next, size, slots, ref usedHigh)) yield break;
                            break;
                        }
                        if (usedMem || (k == OpCodeOperandKind.mem_offs) != (mem == MemForm.Moffs)) yield break;
                        usedMem = true;
                        ins.SetOpKind(i, OpKind.Memory);
                        switch (mem)
                        {
                            case MemForm.Rip:
                                ins.MemoryBase = Register.RIP;
                                ins.MemoryDisplacement64 = operand;
                                ins.MemoryDisplSize = 8;
                                break;
                            case MemForm.Sib:
                                ins.MemoryBase = Register.RSI;
                                ins.MemoryIndex = Register.RDI;
                                ins.MemoryIndexScale = scale;
                                ins.MemoryDisplacement64 = (ulong)disp;
                                ins.MemoryDisplSize = disp is >= -128 and <= 127 ? 1 : 8;
                                break;
                            case MemForm.Addr32:
                                ins.MemoryBase = Register.ESI;
                                ins.MemoryIndex = Register.EDI;
                                ins.MemoryIndexScale = scale;
                                ins.MemoryDisplacement64 = (ulong)(uint)disp;
                                ins.MemoryDisplSize = disp is >= -128 and <= 127 ? 1 : 4;
                                break;
                            case MemForm.Fs: case MemForm.Gs:
                                ins.MemoryBase = Register.RBP;
                                ins.MemoryDisplacement64 = (ulong)disp;
                                ins.MemoryDisplSize = disp is >= -128 and <= 127 ? 1 : 8;
                                ins.SegmentPrefix = mem == MemForm.Fs ? Register.FS : Register.GS;
                                break;
                            case MemForm.Moffs:
                                ins.MemoryDisplacement64 = operand;
                                ins.MemoryDisplSize = 8;
                                break;
                        }
                        slots.Add(new Slot(SlotKind.Mem, Register.None, size));
                        break;
                    }
                case OpCodeOperandKind.r8_reg: case OpCodeOperandKind.r8_opcode:
                    if (!Reg(ref ins, i, pool, ref next, 1, slots, ref usedHigh)) yield break;
                    break;
                case OpCodeOperandKind.r16_reg: case OpCodeOperandKind.r16_opcode: case OpCodeOperandKind.r16_rm:
                    if (!Reg(ref ins, i, pool, ref next, 2, slots, ref usedHigh)) yield break;
                    break;
                case OpCodeOperandKind.r32_reg: case OpCodeOperandKind.r32_opcode: case OpCodeOperandKind.r32_rm:
                    if (!Reg(ref ins, i, pool, ref next, 4, slots, ref usedHigh)) yield break;
                    break;
                case OpCodeOperandKind.r64_reg: case OpCodeOperandKind.r64_opcode: case OpCodeOperandKind.r64_rm:
                    if (!Reg(ref ins, i, pool, ref next, 8, slots, ref usedHigh)) yield break;
                    break;
                case OpCodeOperandKind.al: Fixed(ref ins, i, Register.AL, slots); break;
                case OpCodeOperandKind.ax: Fixed(ref ins, i, Register.AX, slots); break;
                case OpCodeOperandKind.eax: Fixed(ref ins, i, Register.EAX, slots); break;
                case OpCodeOperandKind.rax: Fixed(ref ins, i, Register.RAX, slots); break;
                case OpCodeOperandKind.cl: Fixed(ref ins, i, Register.CL, slots); break;
                case OpCodeOperandKind.imm8_const_1:
                    ins.SetOpKind(i, OpKind.Immediate8);
                    ins.Immediate8 = 1;
                    slots.Add(new Slot(SlotKind.Imm, Register.None, 1));
                    break;
                case OpCodeOperandKind.imm8: case OpCodeOperandKind.imm16: case OpCodeOperandKind.imm32: case OpCodeOperandKind.imm64:
                case OpCodeOperandKind.imm8sex16: case OpCodeOperandKind.imm8sex32: case OpCodeOperandKind.imm8sex64: case OpCodeOperandKind.imm32sex64:
                    SetImmediate(ref ins, i, k, imm);
                    slots.Add(new Slot(SlotKind.Imm, Register.None, 0));
                    break;
                default:
                    yield break;
            }
        }
        if (mem != MemForm.None && !usedMem) yield break;
        if (high8 && !usedHigh) yield break;
        if (sameRegister && next < 2) yield break;
        var bytes = Encode(ins, ip);
        if (bytes is null) yield break;
        // The decoder's view (the encoder may pick another encoding of the same operation; the generated code is what runs).
        var dec = Decoder.Create(64, new ByteArrayCodeReader(bytes), ip);
        dec.Decode(out var back);
        if (back.Code != code) yield break;
        string where = mem switch
        {
            MemForm.None => sameRegister ? "same reg" : high8 ? "h8" : "reg",
            MemForm.Sib or MemForm.Addr32 => $"{mem.ToString().ToLowerInvariant()}*{scale}{(disp < 0 ? "-" : "+")}0x{Math.Abs(disp):x}",
            _ => mem.ToString().ToLowerInvariant(),
        };
        yield return new Producer(code, ins, mem, [.. slots], scale, disp, $"{code} [{where}]");
    }

    private static bool Reg(ref Instruction ins, int i, Register[] pool, ref int next, int size, List<Slot> slots, ref bool usedHigh)
    {
        if (next >= pool.Length) return false;
        var r = pool[next++];
        Register reg;
        if (r is Register.BH or Register.DH)
        {
            if (size == 1)
            {
                reg = r;
                usedHigh = true;
                ins.SetOpKind(i, OpKind.Register);
                ins.SetOpRegister(i, reg);
                slots.Add(new Slot(SlotKind.High8, r == Register.BH ? Register.RBX : Register.RDX, 1));
                return true;
            }
            r = r == Register.BH ? Register.RBX : Register.RDX;
        }
        reg = Cluster.Vmm.Tests.TestUtils.EmuAsm.Reg(r, size);
        ins.SetOpKind(i, OpKind.Register);
        ins.SetOpRegister(i, reg);
        slots.Add(new Slot(SlotKind.Reg, r, size));
        return true;
    }

    private static void Fixed(ref Instruction ins, int i, Register reg, List<Slot> slots)
    {
        ins.SetOpKind(i, OpKind.Register);
        ins.SetOpRegister(i, reg);
        slots.Add(new Slot(SlotKind.Reg, reg.GetFullRegister(), reg.GetSize()));
    }

    private static void SetImmediate(ref Instruction ins, int i, OpCodeOperandKind k, ulong v)
    {
        switch (k)
        {
            case OpCodeOperandKind.imm8 when i > 0 && ins.GetOpKind(i - 1) is >= OpKind.Immediate8 and <= OpKind.Immediate32to64:
                ins.SetOpKind(i, OpKind.Immediate8_2nd);
                ins.Immediate8_2nd = (byte)v;
                break;
            case OpCodeOperandKind.imm8: ins.SetOpKind(i, OpKind.Immediate8); ins.Immediate8 = (byte)v; break;
            case OpCodeOperandKind.imm16: ins.SetOpKind(i, OpKind.Immediate16); ins.Immediate16 = (ushort)v; break;
            case OpCodeOperandKind.imm32: ins.SetOpKind(i, OpKind.Immediate32); ins.Immediate32 = (uint)v; break;
            case OpCodeOperandKind.imm64: ins.SetOpKind(i, OpKind.Immediate64); ins.Immediate64 = v; break;
            case OpCodeOperandKind.imm8sex16: ins.SetOpKind(i, OpKind.Immediate8to16); ins.Immediate8to16 = (sbyte)v; break;
            case OpCodeOperandKind.imm8sex32: ins.SetOpKind(i, OpKind.Immediate8to32); ins.Immediate8to32 = (sbyte)v; break;
            case OpCodeOperandKind.imm8sex64: ins.SetOpKind(i, OpKind.Immediate8to64); ins.Immediate8to64 = (sbyte)v; break;
            default: ins.SetOpKind(i, OpKind.Immediate32to64); ins.Immediate32to64 = (int)v; break;
        }
    }
}
