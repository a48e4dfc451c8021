using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Tests.TestUtils;
using Iced.Intel;
using static Cluster.Vmm.Emulated.EmulatedVcpu;

namespace Cluster.Vmm.Tests.Emulated.Differential;

/// <summary>
/// Runs a <see cref="Snippet"/> on the host and in the emulator from the same registers, flags and
/// memory, and compares every GPR, RSP, the flags the SDM defines and the operand with 128 bytes of
/// neighbours on each side. The emulator interprets, or (compiled) runs every block as IL from its first entry.
/// </summary>
internal sealed class DifferentialHarness : IDisposable
{
    /// <summary>Data window compared: 128 bytes each side of the operand.</summary>
    public const int Window = 256, Before = 128;

    private static readonly ulong[] Candidates = [0x200000, 0x300000, 0x400000, 0x500000, 0x600000, 0x700000, 0x900000, 0xA00000, 0xB00000, 0xC00000, 0xD00000];
    private readonly FixedAddressNativeRunner _native;
    private readonly EmuTestMachine _m = new();
    private byte[] _loaded = [];
    private ulong _fsBase, _gsBase;

    public DifferentialHarness(bool compiled)
    {
        _native = FixedAddressNativeRunner.TryCreate(Candidates, out var why) ?? throw new InvalidOperationException(why);
        // Compiled: every block as IL from its first entry; interpreted: never compiled.
        _m.Cpu.JitThreshold = compiled ? 1 : int.MaxValue;
        _m.Cpu.CompileInBackground = false;
    }

    public ulong SnippetAddress => _native.SnippetAddress;

    public ulong Operand => InstructionForms.OperandAddress(_native.DataPage);

    public int CompiledBlocks => _m.Cpu.CompiledBlocks;

    /// <summary>Runs one case; returns what differs (empty when nothing does).</summary>
    public List<string> Run(Snippet s, ulong[] regs, ulong flags, byte[] window, Defined defined)
    {
        SyncFsBase();
        var native = new ulong[FixedAddressNativeRunner.StateWords];
        Array.Copy(regs, native, 16);
        native[16] = 0x202 | (flags & ArithFlags);
        var nativeWindow = (byte[])window.Clone();
        _native.Run(s.Code, native, Operand - Before, nativeWindow);

        if (!ReferenceEquals(s.Code, _loaded))
        {
            _m.Vm.Memory.Write(SnippetAddress, [.. s.Code, 0xF4]);
            _loaded = s.Code;
        }
        _m.Vm.Memory.Write(Operand - Before, window);
        _m.Cpu.SetRegisters(new Registers
        {
            Rax = regs[0], Rcx = regs[1], Rdx = regs[2], Rbx = regs[3], Rsp = EmuTestMachine.StackTop, Rbp = regs[5], Rsi = regs[6], Rdi = regs[7],
            R8 = regs[8], R9 = regs[9], R10 = regs[10], R11 = regs[11], R12 = regs[12], R13 = regs[13], R14 = regs[14], R15 = regs[15],
            // IF clear (HLT with IF set would wait for an interrupt); the host runs with IF set, so pushf's IF is not compared.
            Rip = SnippetAddress, Rflags = 2 | (flags & ArithFlags),
        });
        var exit = _m.Cpu.Run();
        var o = _m.Cpu.GetRegisters();
        ulong[] emu = [o.Rax, o.Rcx, o.Rdx, o.Rbx, o.Rsp, o.Rbp, o.Rsi, o.Rdi, o.R8, o.R9, o.R10, o.R11, o.R12, o.R13, o.R14, o.R15];
        var emuWindow = new byte[Window];
        _m.Vm.Memory.Read(Operand - Before, emuWindow);

        var diffs = new List<string>();
        if (exit.Kind != VcpuExitKind.Hlt) diffs.Add($"exit {exit}");
        if (o.Rsp != EmuTestMachine.StackTop) diffs.Add($"rsp moved by {(long)(o.Rsp - EmuTestMachine.StackTop)}");
        ulong used = FlagRules.Reads(s.Cond);
        bool consumerDefined = s.Consumer switch
        {
            Consumer.AdcSbb => (defined.Flags & CF) != 0,
            Consumer.Pushf => true,
            _ => (used & ~defined.Flags) == 0,
        };
        ulong flagMask = s.Consumer == Consumer.AdcSbb ? (consumerDefined ? ArithFlags : 0) : defined.Flags;
        var dest = Destinations(s.Producer);
        for (int i = 0; i < 16; i++)
        {
            if (i == 4) continue;
            ulong mask = ulong.MaxValue;
            if (!defined.Destination && dest.Contains(i)) continue;
            if (i == 11 && s.Consumer != Consumer.Cmovcc)
            {
                if (!consumerDefined) continue;
                if (s.Consumer == Consumer.Pushf) mask = (defined.Flags | ~ArithFlags) & ~IF;
            }
            if (i == 12 && s.Consumer == Consumer.Cmovcc && !consumerDefined) continue;
            if ((emu[i] & mask) != (native[i] & mask))
                diffs.Add($"{RegName(i)}: emulator 0x{emu[i] & mask:x} host 0x{native[i] & mask:x}");
        }
        if ((o.Rflags & flagMask) != (native[16] & flagMask))
            diffs.Add($"flags (mask 0x{flagMask:x}): emulator 0x{o.Rflags & flagMask:x} host 0x{native[16] & flagMask:x}");
        for (int i = 0; i < Window; i++)
            if (emuWindow[i] != nativeWindow[i])
            {
                diffs.Add($"memory at operand{(i - Before >= 0 ? "+" : "")}{i - Before}: emulator {Hex(emuWindow, i)} host {Hex(nativeWindow, i)}");
                break;
            }
        return diffs;
    }

    private static string Hex(byte[] b, int i) => Convert.ToHexString(b, i, Math.Min(8, b.Length - i));

    /// <summary>Registers an instruction writes (its register operands and the accumulator pair), for undefined destinations.</summary>
    private static HashSet<int> Destinations(Producer p)
    {
        var set = new HashSet<int>();
        if (p.Slots.Length > 0 && p.Slots[0].Kind is SlotKind.Reg or SlotKind.High8) set.Add(p.Slots[0].Family - Register.RAX);
        return set;
    }

    public static string RegName(int i) => ((Register)((int)Register.RAX + i)).ToString().ToLowerInvariant();

    /// <summary>The emulator's FS and GS bases follow the host thread's, so that fs: and gs: operands address the same bytes.</summary>
    private void SyncFsBase()
    {
        ulong fs = FixedAddressNativeRunner.FsBase(), gs = FixedAddressNativeRunner.GsBase();
        if (fs == _fsBase && gs == _gsBase) return;
        var sr = _m.Cpu.GetSpecialRegisters();
        sr.Fs = sr.Fs with { Base = fs };
        sr.Gs = sr.Gs with { Base = gs };
        _m.Cpu.SetSpecialRegisters(sr);
        (_fsBase, _gsBase) = (fs, gs);
    }

    public void Dispose()
    {
        _native.Dispose();
        _m.Dispose();
    }
}
