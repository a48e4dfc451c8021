using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Tests.TestUtils;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Cluster.Vmm.Tests.Emulated;

/// <summary>Exceptions delivered through the IDT, double and triple faults, and garbage guests.</summary>
public sealed class EmulatedVcpuExceptionTests
{
    internal const ulong Handlers = 0x30000;

    /// <summary>Installs, for each vector, a handler that records the vector in R15, [RSP] in R14, CR2 in R13, [RSP+8] in R12, then halts.</summary>
    internal static void InstallRecordingHandlers(EmuTestMachine m, params int[] vectors)
    {
        foreach (var v in vectors)
        {
            ulong at = Handlers + (ulong)v * 0x40;
            m.Load(at, a =>
            {
                a.mov(r15d, v);
                a.mov(r14, __qword_ptr[rsp]);
                a.mov(r13, cr2);
                a.mov(r12, __qword_ptr[rsp + 8]);
                a.hlt();
            });
            m.SetGate(v, at);
        }
    }

    [Fact]
    public void Divide_by_zero_raises_DE_at_the_faulting_instruction()
    {
        using var m = new EmuTestMachine();
        InstallRecordingHandlers(m, 0);
        m.LoadCode(a =>
        {
            a.xor(ebx, ebx);
            a.mov(eax, 7);
            a.div(rbx);
            a.hlt();
        });
        Assert.Equal(VcpuExitKind.Hlt, m.Run().Kind);
        var r = m.Regs;
        Assert.Equal(0UL, r.R15);
        Assert.Equal(EmuTestMachine.Code + 7, r.R14);
        Assert.Equal(8UL, r.R12);
    }

    [Fact]
    public void Divide_overflow_raises_DE()
    {
        using var m = new EmuTestMachine();
        InstallRecordingHandlers(m, 0);
        m.LoadCode(a =>
        {
            a.mov(edx, 1);
            a.mov(ebx, 1);
            a.xor(eax, eax);
            a.div(ebx);
            a.hlt();
        });
        m.Run();
        Assert.Equal(0UL, m.Regs.R15);
    }

    [Fact]
    public void Ud2_raises_UD_and_int3_traps_past_itself()
    {
        using var m = new EmuTestMachine();
        InstallRecordingHandlers(m, 6, 3);
        m.LoadCode(a =>
        {
            a.int3();
            a.hlt();
        });
        m.Run();
        Assert.Equal(3UL, m.Regs.R15);
        Assert.Equal(EmuTestMachine.Code + 1, m.Regs.R14);

        m.LoadCode(a =>
        {
            a.nop();
            a.ud2();
        });
        m.Run();
        Assert.Equal(6UL, m.Regs.R15);
        Assert.Equal(EmuTestMachine.Code + 1, m.Regs.R14);
    }

    [Fact]
    public void Non_canonical_access_and_unknown_msr_raise_GP_with_error_code()
    {
        using var m = new EmuTestMachine();
        InstallRecordingHandlers(m, 13);
        m.LoadCode(a =>
        {
            a.mov(rax, 0x8000_0000_0000_0000UL);
            a.mov(rbx, __qword_ptr[rax]);
            a.hlt();
        });
        m.Run();
        Assert.Equal(13UL, m.Regs.R15);
        Assert.Equal(0UL, m.Regs.R14);
        Assert.Equal(EmuTestMachine.Code + 10, m.Regs.R12);

        m.LoadCode(a =>
        {
            a.mov(ecx, 0x1234);
            a.rdmsr();
            a.hlt();
        });
        m.Run();
        Assert.Equal(13UL, m.Regs.R15);
        Assert.Equal(EmuTestMachine.Code + 5, m.Regs.R12);
    }

    [Fact]
    public void A_fault_without_a_handler_becomes_a_double_fault()
    {
        using var m = new EmuTestMachine();
        InstallRecordingHandlers(m, 8);
        m.LoadCode(a => a.ud2());
        m.Run();
        Assert.Equal(8UL, m.Regs.R15);
        Assert.Equal(0UL, m.Regs.R14);
    }

    [Fact]
    public void A_fault_with_no_usable_IDT_is_a_triple_fault_and_shuts_down()
    {
        using var m = new EmuTestMachine();
        m.LoadCode(a =>
        {
            a.xor(ecx, ecx);
            a.div(ecx);
        });
        var e = m.Run();
        Assert.Equal(VcpuExitKind.Shutdown, e.Kind);
        Assert.Contains("triple fault", e.Reason);
    }

    [Fact]
    public void Software_interrupt_returns_with_iretq()
    {
        using var m = new EmuTestMachine();
        m.Load(Handlers, a =>
        {
            a.add(rbx, 5);
            a.iretq();
        });
        m.SetGate(0x80, Handlers);
        m.LoadCode(a =>
        {
            a.mov(ebx, 1);
            a.@int(0x80);
            a.@int(0x80);
            a.hlt();
        });
        Assert.Equal(VcpuExitKind.Hlt, m.Run().Kind);
        Assert.Equal(11UL, m.Regs.Rbx);
        Assert.Equal(EmuTestMachine.StackTop, m.Regs.Rsp);
    }

    [Fact]
    public void Random_byte_guests_never_take_the_host_down()
    {
        var kinds = new Dictionary<VcpuExitKind, int>();
        for (int seed = 0; seed < 250; seed++)
        {
            using var m = new EmuTestMachine();
            var rng = new Random(seed);
            var bytes = new byte[8192];
            rng.NextBytes(bytes);
            m.Vm.Memory.Write(EmuTestMachine.Code, bytes);
            var r = m.Regs;
            r.Rax = (ulong)rng.NextInt64();
            r.Rbx = EmuTestMachine.Data;
            r.Rsi = EmuTestMachine.Data + 0x1000;
            m.Regs = r;
            using var kicker = new Timer(_ => m.Cpu.Kick(), null, 20, Timeout.Infinite);
            VcpuExit e = default;
            for (int i = 0; i < 200; i++)
            {
                e = m.Cpu.Run();
                if (e.Kind is VcpuExitKind.IoIn or VcpuExitKind.MmioRead) m.Cpu.CompleteRead(0);
                else if (e.Kind is not (VcpuExitKind.IoOut or VcpuExitKind.MmioWrite)) break;
            }
            Assert.False(e.Kind == VcpuExitKind.InternalError && e.Code == 1, $"seed {seed}: {e}");
            kinds[e.Kind] = kinds.GetValueOrDefault(e.Kind) + 1;
        }
        Assert.True(kinds.GetValueOrDefault(VcpuExitKind.Shutdown) > 0);
    }

    [Fact]
    public void Random_byte_guests_with_exception_handlers_run_on_without_emulator_failures()
    {
        long retired = 0;
        for (int seed = 1000; seed < 1060; seed++)
        {
            using var m = new EmuTestMachine();
            for (int v = 0; v < 32; v++) m.SetGate(v, EmuTestMachine.Code + 0x100 * (ulong)v);
            m.Vm.Memory.WriteU64(EmuTestMachine.Tss + 4, 0x70000);
            var rng = new Random(seed);
            var bytes = new byte[16384];
            rng.NextBytes(bytes);
            m.Vm.Memory.Write(EmuTestMachine.Code, bytes);
            var r = m.Regs;
            r.Rax = (ulong)rng.NextInt64();
            r.Rbx = EmuTestMachine.Data;
            r.Rsi = EmuTestMachine.Data + 0x1000;
            r.Rdi = EmuTestMachine.Data + 0x2000;
            r.Rcx = 100;
            m.Regs = r;
            using var kicker = new Timer(_ => m.Cpu.Kick(), null, 10, Timeout.Infinite);
            for (int i = 0; i < 3000; i++)
            {
                var e = m.Cpu.Run();
                Assert.False(e.Kind == VcpuExitKind.InternalError && e.Code == 1, $"seed {seed}: {e}");
                if (e.Kind is VcpuExitKind.IoIn or VcpuExitKind.MmioRead) m.Cpu.CompleteRead(0x1234);
                else if (e.Kind == VcpuExitKind.InternalError) m.Regs = m.Regs with { Rip = m.Regs.Rip + 1 };
                else if (e.Kind is not (VcpuExitKind.IoOut or VcpuExitKind.MmioWrite or VcpuExitKind.Hlt)) break;
            }
            retired += m.Cpu.RetiredInstructions;
        }
        Assert.True(retired > 10_000);
    }
}
