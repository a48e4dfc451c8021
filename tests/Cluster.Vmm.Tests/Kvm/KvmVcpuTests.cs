using Cluster.Vmm.Hypervisor;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Cluster.Vmm.Tests.Kvm;

public sealed class KvmVcpuTests
{
    [KvmFact]
    public void Real_mode_out_to_a_port_exits_as_IoOut_with_the_written_byte()
    {
        using var t = new KvmTestVm();
        t.LoadRealMode(a =>
        {
            a.mov(dx, 0x3f8);
            a.mov(al, (byte)'K');
            a.@out(dx, al);
            a.hlt();
        });
        var exit = t.Run();
        Assert.Equal(VcpuExitKind.IoOut, exit.Kind);
        Assert.Equal(0x3f8, exit.Port);
        Assert.Equal(1, exit.Size);
        Assert.Equal((ulong)'K', exit.Data);
    }

    [KvmFact]
    public void Long_mode_out_exits_with_the_written_dword()
    {
        using var t = new KvmTestVm();
        t.LoadLongMode(a =>
        {
            a.mov(rax, 0x1234_5678_9abc_def0);
            a.shr(rax, 16);
            a.mov(dx, 0x510);
            a.@out(dx, eax);
            a.hlt();
        });
        var exit = t.Run();
        Assert.Equal(VcpuExit.IoOut(0x510, 4, 0x5678_9abc).ToString(), exit.ToString());
        Assert.True((t.Vcpu.GetSpecialRegisters().Efer & CpuBits.EferLma) != 0);
    }

    [KvmFact]
    public void In_from_a_port_reads_the_value_given_to_CompleteRead()
    {
        using var t = new KvmTestVm();
        t.LoadRealMode(a =>
        {
            a.mov(dx, 0x510);
            a.@in(ax, dx);
            a.inc(ax);
            a.mov(dx, 0x511);
            a.@out(dx, ax);
            a.hlt();
        });
        var read = t.Run();
        Assert.Equal(VcpuExit.IoIn(0x510, 2).ToString(), read.ToString());
        t.Vcpu.CompleteRead(0x4241);
        var write = t.Run();
        Assert.Equal(VcpuExit.IoOut(0x511, 2, 0x4242).ToString(), write.ToString());
    }

    [KvmFact]
    public void String_out_is_split_into_one_IoOut_exit_per_item()
    {
        using var t = new KvmTestVm();
        t.Vm.Memory.Write(0x2000, "hi!"u8);
        t.LoadRealMode(a =>
        {
            a.cld();
            a.mov(si, 0x2000);
            a.mov(cx, 3);
            a.mov(dx, 0x3f8);
            a.rep.outsb();
            a.@out(0x10, al);
            a.hlt();
        });
        var bytes = new List<char>();
        for (int i = 0; i < 3; i++)
        {
            var exit = t.Run();
            Assert.Equal(VcpuExitKind.IoOut, exit.Kind);
            Assert.Equal(0x3f8, exit.Port);
            bytes.Add((char)exit.Data);
        }
        Assert.Equal("hi!", new string([.. bytes]));
        Assert.Equal(0x10, t.Run().Port);
    }

    [KvmFact]
    public void Accesses_outside_memory_exit_as_mmio_and_reads_take_the_completed_value()
    {
        using var t = new KvmTestVm();
        t.LoadLongMode(a =>
        {
            a.mov(ebx, 0xd000_0000);
            a.mov(__dword_ptr[rbx], 0xcafe);
            a.mov(eax, __dword_ptr[rbx + 8]);
            a.mov(dx, 0x20);
            a.@out(dx, eax);
            a.hlt();
        });
        Assert.Equal(VcpuExit.MmioWrite(0xd000_0000, 4, 0xcafe).ToString(), t.Run().ToString());
        Assert.Equal(VcpuExit.MmioRead(0xd000_0008, 4).ToString(), t.Run().ToString());
        t.Vcpu.CompleteRead(0x1234_abcd);
        Assert.Equal(VcpuExit.IoOut(0x20, 4, 0x1234_abcd).ToString(), t.Run().ToString());
    }

    [KvmFact]
    public void Hlt_exits_as_Hlt_on_a_vm_without_the_in_kernel_irqchip()
    {
        using var t = new KvmTestVm(inKernelIrqchip: false);
        t.LoadRealMode(a =>
        {
            a.cli();
            a.hlt();
        });
        Assert.Equal(VcpuExitKind.Hlt, t.Run().Kind);
    }

    [KvmFact]
    public void Ud2_in_long_mode_without_an_idt_triple_faults_into_Shutdown()
    {
        using var t = new KvmTestVm();
        t.LoadLongMode(a => a.ud2());
        Assert.Equal(VcpuExitKind.Shutdown, t.Run().Kind);
    }

    [KvmFact]
    public void Kick_from_another_thread_interrupts_an_endless_loop_and_the_vcpu_runs_on()
    {
        using var t = new KvmTestVm();
        t.LoadLongMode(a =>
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.inc(rcx);
            a.jmp(top);
        });
        for (int round = 0; round < 3; round++)
        {
            VcpuExit exit = default;
            var runner = new Thread(() => exit = t.Vcpu.Run());
            runner.Start();
            Thread.Sleep(200);
            t.Vcpu.Kick();
            Assert.True(runner.Join(TimeSpan.FromSeconds(20)), "Run did not return after Kick");
            Assert.Equal(VcpuExitKind.Interrupted, exit.Kind);
        }
        Assert.True(t.Vcpu.GetRegisters().Rcx > 0);
        Assert.True(t.Vcpu.GuestTime > TimeSpan.Zero);
    }

    [KvmFact]
    public void Kick_before_Run_makes_the_next_Run_return_Interrupted_without_running_the_guest()
    {
        using var t = new KvmTestVm();
        t.LoadRealMode(a => a.@out(0x10, al));
        t.Vcpu.Kick();
        Assert.Equal(VcpuExitKind.Interrupted, t.Run().Kind);
        Assert.Equal(KvmTestVm.CodeAddress, t.Vcpu.GetRegisters().Rip);
        Assert.Equal(VcpuExitKind.IoOut, t.Run().Kind);
    }

    [KvmFact]
    public void Pic_interrupt_raised_with_SetIrqLine_reaches_the_guest_handler()
    {
        using var t = new KvmTestVm();
        const ushort handler = 0x1800;
        t.Load(16, a =>
        {
            a.mov(al, 0x42);
            a.@out(0x11, al);
            a.mov(al, 0x20);
            a.@out(0x20, al); // EOI
            a.iret();
        }, handler);
        t.Vm.Memory.WriteU16(0x23 * 4, handler);
        t.Vm.Memory.WriteU16(0x23 * 4 + 2, 0);
        t.LoadRealMode(a =>
        {
            foreach (var (port, value) in new (byte, byte)[] { (0x20, 0x11), (0x21, 0x20), (0x21, 0x04), (0x21, 0x01), (0x21, 0xf7) })
            {
                a.mov(al, value);
                a.@out(port, al);
            }
            a.sti();
            a.@out(0x10, al);
            var top = a.CreateLabel();
            a.Label(ref top);
            a.jmp(top);
        });
        Assert.Equal(0x10, t.Run().Port);
        t.Vm.SetIrqLine(3, true);
        t.Vm.SetIrqLine(3, false);
        var exit = t.Run();
        Assert.Equal(VcpuExit.IoOut(0x11, 1, 0x42).ToString(), exit.ToString());
    }

    [KvmFact]
    public void CompleteRead_after_an_out_exit_is_refused()
    {
        using var t = new KvmTestVm();
        t.LoadRealMode(a => a.@out(0x10, al));
        t.Run();
        var e = Assert.Throws<VmmException>(() => t.Vcpu.CompleteRead(1));
        Assert.Contains("IoOut", e.Message);
    }

    [KvmFact]
    public void Invalid_special_registers_are_refused_with_the_ioctl_name_and_errno()
    {
        using var t = new KvmTestVm();
        var s = t.Vcpu.GetSpecialRegisters();
        s.Cr0 = CpuBits.Cr0Pe | CpuBits.Cr0Pg;
        s.Efer = CpuBits.EferLme;
        s.Cr4 = 0; // long mode paging without PAE
        var e = Assert.Throws<VmmException>(() => t.Vcpu.SetSpecialRegisters(s));
        Assert.Equal("KVM_SET_SREGS", e.Operation);
        Assert.Equal(22, e.Errno);
    }

    [KvmFact]
    public void Msrs_written_are_read_back_and_unknown_msrs_are_an_error()
    {
        using var t = new KvmTestVm();
        t.Vcpu.SetMsrs([new MsrEntry(Msr.Lstar, 0xffff_8000_1234_5000)]);
        Span<MsrEntry> read = [new MsrEntry(Msr.Lstar)];
        t.Vcpu.GetMsrs(read);
        Assert.Equal(0xffff_8000_1234_5000, read[0].Data);
        Assert.Contains(Msr.Lstar, t.Vcpu.SupportedMsrs);
        Assert.Throws<VmmException>(() => t.Vcpu.GetMsrs(new MsrEntry[] { new(0xdead_beef) }));
    }
}
