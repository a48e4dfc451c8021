using System.Diagnostics;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Cluster.Vmm.Tests.Emulated;

/// <summary>The KVM-shaped exits: port and MMIO I/O with CompleteRead, HLT, Kick, internal errors.</summary>
public sealed class EmulatedVcpuExitTests
{
    [Fact]
    public void Port_and_mmio_accesses_exit_and_reads_complete_with_the_supplied_value()
    {
        using var m = new EmuTestMachine();
        m.LoadCode(a =>
        {
            a.mov(dx, 0x3F8);
            a.mov(al, (byte)'A');
            a.@out(dx, al);
            a.@in(al, dx);
            a.mov(bl, al);
            a.@out(0x80, eax);
            a.mov(rsi, 0x2000_0000UL);
            a.mov(eax, __dword_ptr[rsi]);
            a.mov(__dword_ptr[rsi + 8], ebx);
            a.hlt();
        });
        var e = m.Cpu.Run();
        Assert.Equal((VcpuExitKind.IoOut, (ushort)0x3F8, 1, (ulong)'A'), (e.Kind, e.Port, e.Size, e.Data));
        e = m.Cpu.Run();
        Assert.Equal((VcpuExitKind.IoIn, (ushort)0x3F8, 1), (e.Kind, e.Port, e.Size));
        m.Cpu.CompleteRead(0x5A);
        e = m.Cpu.Run();
        Assert.Equal((VcpuExitKind.IoOut, (ushort)0x80, 4, 0x5AUL), (e.Kind, e.Port, e.Size, e.Data));
        e = m.Cpu.Run();
        Assert.Equal((VcpuExitKind.MmioRead, 0x2000_0000UL, 4), (e.Kind, e.Address, e.Size));
        m.Cpu.CompleteRead(0xDEADBEEF);
        e = m.Cpu.Run();
        Assert.Equal((VcpuExitKind.MmioWrite, 0x2000_0008UL, 4, 0x5AUL), (e.Kind, e.Address, e.Size, e.Data));
        Assert.Equal(VcpuExitKind.Hlt, m.Cpu.Run().Kind);
        Assert.Equal(0xDEADBEEFUL, m.Regs.Rax);
    }

    [Theory]
    [InlineData(0x1234_5678UL, true)]
    [InlineData(0x1234_5679UL, false)]
    public void Cmps_between_two_mmio_addresses_exits_for_both_reads_and_compares_their_values(ulong second, bool equal)
    {
        using var m = new EmuTestMachine();
        m.LoadCode(a =>
        {
            a.mov(rsi, 0x2000_0000UL);
            a.mov(rdi, 0x3000_0000UL);
            a.cmpsd();
            a.setz(bl);
            a.hlt();
        });
        var e = m.Cpu.Run();
        Assert.Equal((VcpuExitKind.MmioRead, 0x2000_0000UL, 4), (e.Kind, e.Address, e.Size));
        m.Cpu.CompleteRead(0x1234_5678);
        e = m.Cpu.Run();
        Assert.Equal((VcpuExitKind.MmioRead, 0x3000_0000UL, 4), (e.Kind, e.Address, e.Size));
        m.Cpu.CompleteRead(second);
        Assert.Equal(VcpuExitKind.Hlt, m.Cpu.Run().Kind);
        var r = m.Regs;
        Assert.Equal((equal ? 1UL : 0, 0x2000_0004UL, 0x3000_0004UL), (r.Rbx & 0xFF, r.Rsi, r.Rdi));
    }

    [Fact]
    public void Rep_movs_from_an_mmio_fifo_reads_each_element_once_with_its_own_value()
    {
        using var m = new EmuTestMachine();
        m.LoadCode(a =>
        {
            a.mov(rsi, 0x2000_0000UL);
            a.mov(rdi, EmuTestMachine.Data);
            a.mov(ecx, 3);
            a.rep.movsw();
            a.hlt();
        });
        var reads = new List<ulong>();
        VcpuExit e;
        ushort value = 0x1111;
        while ((e = m.Cpu.Run()).Kind == VcpuExitKind.MmioRead)
        {
            reads.Add(e.Address);
            m.Cpu.CompleteRead(value);
            value += 0x1111;
        }
        Assert.Equal(VcpuExitKind.Hlt, e.Kind);
        Assert.Equal([0x2000_0000UL, 0x2000_0002UL, 0x2000_0004UL], reads);
        Assert.Equal(new ushort[] { 0x1111, 0x2222, 0x3333 }, new ulong[] { 0, 2, 4 }.Select(o => m.Vm.Memory.ReadU16(EmuTestMachine.Data + o)));
        Assert.Equal(0UL, m.Regs.Rcx);
    }

    [Fact]
    public void A_split_qword_compare_over_mmio_makes_sixteen_byte_reads_and_completes()
    {
        using var m = new EmuTestMachine();
        m.LoadCode(a =>
        {
            a.mov(rsi, 0x2000_0FFCUL);
            a.mov(rdi, 0x3000_0FFAUL);
            a.cmpsq();
            a.setz(bl);
            a.hlt();
        });
        int reads = 0;
        VcpuExit e;
        while ((e = m.Cpu.Run()).Kind == VcpuExitKind.MmioRead)
        {
            Assert.Equal(1, e.Size);
            reads++;
            m.Cpu.CompleteRead(0x5A);
        }
        Assert.Equal(VcpuExitKind.Hlt, e.Kind);
        Assert.Equal(16, reads);
        Assert.Equal(1UL, m.Regs.Rbx & 0xFF);
    }

    [Fact]
    public void Rep_outsb_exits_once_per_byte()
    {
        using var m = new EmuTestMachine();
        m.Vm.Memory.Write(EmuTestMachine.Data, "hi!"u8);
        m.LoadCode(a =>
        {
            a.mov(esi, (uint)EmuTestMachine.Data);
            a.mov(ecx, 3);
            a.mov(dx, 0x3F8);
            a.rep.outsb();
            a.hlt();
        });
        var outs = new List<(ushort, ulong)>();
        Assert.Equal(VcpuExitKind.Hlt, m.Run(outs).Kind);
        Assert.Equal("hi!", new string(outs.Select(o => (char)o.Item2).ToArray()));
        Assert.Equal(0UL, m.Regs.Rcx);
    }

    [Fact]
    public void Kick_interrupts_an_infinite_loop_from_another_thread()
    {
        using var m = new EmuTestMachine();
        m.LoadCode(a =>
        {
            var l = a.CreateLabel();
            a.Label(ref l);
            a.inc(rax);
            a.jmp(l);
        });
        VcpuExit e = default;
        var t = new Thread(() => e = m.Cpu.Run());
        t.Start();
        Thread.Sleep(50);
        var sw = Stopwatch.StartNew();
        m.Cpu.Kick();
        Assert.True(t.Join(TimeSpan.FromSeconds(10)));
        Assert.Equal(VcpuExitKind.Interrupted, e.Kind);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"kick took {sw.Elapsed}");
        Assert.True(m.Regs.Rax > 0);
    }

    [Fact]
    public void Hlt_with_interrupts_disabled_exits_and_a_kick_wakes_a_halted_vcpu()
    {
        using var m = new EmuTestMachine();
        m.LoadCode(a =>
        {
            a.hlt();
            a.sti();
            a.hlt();
            a.mov(eax, 9);
        });
        Assert.Equal(VcpuExitKind.Hlt, m.Cpu.Run().Kind);
        VcpuExit e = default;
        var t = new Thread(() => e = m.Cpu.Run());
        t.Start();
        Thread.Sleep(50);
        Assert.True(t.IsAlive);
        m.Cpu.Kick();
        Assert.True(t.Join(TimeSpan.FromSeconds(10)));
        Assert.Equal(VcpuExitKind.Interrupted, e.Kind);
    }

    [Fact]
    public void Unimplemented_instructions_exit_with_their_address_and_bytes()
    {
        using var m = new EmuTestMachine();
        m.LoadCode(a =>
        {
            a.nop();
            a.fld1();
        });
        var e = m.Cpu.Run();
        Assert.Equal(VcpuExitKind.InternalError, e.Kind);
        Assert.Equal(EmuTestMachine.Code + 1, e.Address);
        Assert.Equal(new byte[] { 0xD9, 0xE8 }, e.Bytes![..2]);
    }

    [Fact]
    public void Registers_msrs_and_special_registers_round_trip()
    {
        using var m = new EmuTestMachine();
        var r = m.Regs;
        r.R13 = 0x1313;
        r.Rflags = 0x2 | 0x1 | 0x40 | 0x800;
        m.Regs = r;
        Assert.Equal(r.R13, m.Regs.R13);
        Assert.Equal(r.Rflags, m.Regs.Rflags);
        m.Cpu.SetMsrs([new MsrEntry(Msr.Lstar, 0xFFFF_8000_0000_1000), new MsrEntry(Msr.KernelGsBase, 77)]);
        Span<MsrEntry> q = [new MsrEntry(Msr.Lstar), new MsrEntry(Msr.KernelGsBase), new MsrEntry(Msr.Efer)];
        m.Cpu.GetMsrs(q);
        Assert.Equal(0xFFFF_8000_0000_1000UL, q[0].Data);
        Assert.Equal(77UL, q[1].Data);
        Assert.NotEqual(0UL, q[2].Data & CpuBits.EferLma);
        Assert.Throws<VmmException>(() => m.Cpu.GetMsrs(new MsrEntry[] { new(0x1234) }));
        Assert.True(m.Cpu.GetSpecialRegisters().Cs.L);
    }

    [Fact]
    public void Rdtsc_is_monotonic_and_follows_writes_to_the_tsc_msr()
    {
        using var m = new EmuTestMachine();
        m.Cpu.SetMsrs([new MsrEntry(Msr.Tsc, 1UL << 40)]);
        m.LoadCode(a =>
        {
            a.rdtsc();
            a.shl(rdx, 32);
            a.or(rax, rdx);
            a.mov(rbx, rax);
            a.rdtsc();
            a.shl(rdx, 32);
            a.or(rax, rdx);
            a.hlt();
        });
        m.Run();
        Assert.True(m.Regs.Rbx >= 1UL << 40);
        Assert.True(m.Regs.Rax >= m.Regs.Rbx);
        Assert.True(m.Regs.Rbx < (1UL << 40) + 10_000_000_000UL);
    }
}
