using Cluster.Vmm.Emulated;
using Cluster.Vmm.Hypervisor;
using Iced.Intel;
using Xunit.Sdk;

namespace Cluster.Vmm.Tests.TestUtils;

/// <summary>
/// Runs the same snippet natively and in the emulator from the same registers and flags, and
/// compares every GPR but RSP and the arithmetic flags.
/// </summary>
internal sealed class EmuDifferential : IDisposable
{
    public const ulong ArithFlags = 0x8D5;
    private readonly EmuTestMachine _m = new();
    private byte[] _loaded = [];
    private readonly Random _rng;

    /// <param name="seed">Seed of the random operands.</param>
    /// <param name="compiled">Runs every snippet as a compiled block (a NOP is appended so that the block has two compilable ops).</param>
    public EmuDifferential(int seed, bool compiled = false)
    {
        _rng = new Random(seed);
        _compiled = compiled;
        if (compiled)
        {
            _m.Cpu.JitThreshold = 1;
            _m.Cpu.CompileInBackground = false;
        }
    }

    private readonly bool _compiled;

    /// <summary>Blocks the emulator compiled so far.</summary>
    public int CompiledBlocks => _m.Cpu.CompiledBlocks;

    public int Cases { get; private set; }

    public static readonly ulong[] Edges =
    [
        0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 0x0F0F_F0F0_1234_8765, 63, 64, 31, 32, 15, 16, 7, 8, 9, 17, 33, 65,
    ];

    public ulong Random64()
    {
        ulong v = (ulong)_rng.NextInt64() ^ ((ulong)_rng.Next() << 40);
        return _rng.Next(4) switch { 0 => v & 0xFF, 1 => v & 0xFFFF, 2 => v & 0xFFFF_FFFF, _ => v };
    }

    /// <summary>Operand pairs: every edge against every edge, plus <paramref name="randoms"/> random pairs.</summary>
    public IEnumerable<(ulong A, ulong B)> Pairs(int randoms = 300)
    {
        foreach (var a in Edges) foreach (var b in Edges) yield return (a, b);
        for (int i = 0; i < randoms; i++) yield return (Random64(), Random64());
    }

    public ulong[] RandomRegisters()
    {
        var r = new ulong[16];
        for (int i = 0; i < 16; i++) r[i] = Random64();
        return r;
    }

    public ulong RandomFlags() => (ulong)_rng.Next() & ArithFlags;

    public static byte[] Code(params Instruction[] instructions) => EmuAsm.Encode(EmuTestMachine.Code, instructions);

    public static Instruction I(string code, Register a) => Instruction.Create(Enum.Parse<Code>(code), a);
    public static Instruction I(string code, Register a, Register b) => Instruction.Create(Enum.Parse<Code>(code), a, b);
    public static Instruction I(string code, Register a, int imm) => Instruction.Create(Enum.Parse<Code>(code), a, imm);
    public static Instruction I(string code, Register a, Register b, int imm) => Instruction.Create(Enum.Parse<Code>(code), a, b, imm);
    public static Instruction I(string code, Register a, Register b, Register c) => Instruction.Create(Enum.Parse<Code>(code), a, b, c);
    public static Instruction I(string code) => Instruction.Create(Enum.Parse<Code>(code));

    /// <summary>Runs one case on both and fails with a description when they differ.</summary>
    public void Check(string name, byte[] snippet, ulong[] regs, ulong flags, ulong flagMask = ArithFlags)
    {
        Cases++;
        var native = new ulong[EmuNative.StateWords];
        Array.Copy(regs, native, 16);
        native[16] = 0x202 | (flags & ArithFlags);
        EmuNative.Run(snippet, native);

        if (!snippet.AsSpan().SequenceEqual(_loaded))
        {
            _m.Vm.Memory.Write(EmuTestMachine.Code, _compiled ? [.. snippet, 0x90, 0xF4] : [.. snippet, 0xF4]);
            _loaded = snippet;
        }
        var r = new Registers
        {
            Rax = regs[0], Rcx = regs[1], Rdx = regs[2], Rbx = regs[3], Rsp = EmuTestMachine.StackTop, Rbp = regs[5], Rsi = regs[6], Rdi = regs[7],
            R8 = regs[8], R9 = regs[9], R10 = regs[10], R11 = regs[11], R12 = regs[12], R13 = regs[13], R14 = regs[14], R15 = regs[15],
            Rip = EmuTestMachine.Code, Rflags = 2 | (flags & ArithFlags),
        };
        _m.Cpu.SetRegisters(r);
        var exit = _m.Cpu.Run();
        var o = _m.Cpu.GetRegisters();
        ulong[] emu = [o.Rax, o.Rcx, o.Rdx, o.Rbx, o.Rsp, o.Rbp, o.Rsi, o.Rdi, o.R8, o.R9, o.R10, o.R11, o.R12, o.R13, o.R14, o.R15];
        var diffs = new List<string>();
        if (exit.Kind != VcpuExitKind.Hlt) diffs.Add($"exit {exit}");
        for (int i = 0; i < 16; i++)
            if (i != 4 && emu[i] != native[i]) diffs.Add($"r{i}: emulator 0x{emu[i]:x} host 0x{native[i]:x}");
        if ((o.Rflags & flagMask) != (native[16] & flagMask))
            diffs.Add($"flags: emulator 0x{o.Rflags & flagMask:x} host 0x{native[16] & flagMask:x}");
        if (diffs.Count > 0)
            throw new XunitException($"{name}: in rax=0x{regs[0]:x} rbx=0x{regs[3]:x} rcx=0x{regs[1]:x} rdx=0x{regs[2]:x} flags=0x{flags:x}: {string.Join("; ", diffs)}");
    }

    public void Dispose() => _m.Dispose();
}
