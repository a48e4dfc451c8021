using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Cluster.Vmm.Tests.Emulated;

/// <summary>The standard boot path through real, protected and long mode, and the CPUID the guest sees.</summary>
public sealed class EmulatedVcpuModeTests
{
    [Fact]
    public void Boots_from_real_mode_through_protected_mode_into_long_mode()
    {
        using var m = new EmuTestMachine(longMode: false);
        m.Vm.Memory.WriteU16(0x7E00, 0x3F);
        m.Vm.Memory.WriteU32(0x7E02, (uint)EmuTestMachine.Gdt);
        m.Load(0x7C00, a =>
        {
            a.cli();
            a.mov(ax, 0x1234);
            a.mov(ds, ax);
            a.mov(bx, __word_ptr[0x10]);
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.lgdt(__[0x7E00]);
            a.mov(eax, cr0);
            a.or(eax, 1);
            a.mov(cr0, eax);
            a.jmp(0x18, 0x8000);
        }, bitness: 16);
        m.Vm.Memory.WriteU16(0x12350, 0xBEEF);
        m.Load(0x8000, a =>
        {
            a.mov(ax, 0x10);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(ss, ax);
            a.mov(esp, 0x70000);
            a.push(0x5A5A);
            a.pop(esi);
            a.mov(eax, cr4);
            a.or(eax, 0x20);
            a.mov(cr4, eax);
            a.mov(eax, (uint)EmuTestMachine.Pml4);
            a.mov(cr3, eax);
            a.mov(ecx, 0xC0000080);
            a.rdmsr();
            a.or(eax, 0x100);
            a.wrmsr();
            a.mov(eax, cr0);
            a.or(eax, 0x80000000);
            a.mov(cr0, eax);
            a.jmp(0x08, 0x9000);
        }, bitness: 32);
        m.Load(0x9000, a =>
        {
            a.mov(rax, 0x1122334455667788UL);
            a.mov(ecx, 0xC0000080);
            a.rdmsr();
            a.mov(rdi, rax);
            a.mov(rax, 0x1122334455667788UL);
            a.hlt();
        });
        m.SetRealMode(0x7C00);
        var e = m.Run();
        Assert.True(e.Kind == VcpuExitKind.Hlt, $"{e} rip=0x{m.Regs.Rip:x}");
        var r = m.Regs;
        Assert.Equal(0x1122334455667788UL, r.Rax);
        Assert.Equal(0xBEEFUL, r.Rbx & 0xFFFF);
        Assert.Equal(0x5A5AUL, r.Rsi);
        Assert.Equal(0x500UL, r.Rdi & 0x500);
        var sr = m.Cpu.GetSpecialRegisters();
        Assert.True(sr.Cs.L);
        Assert.NotEqual(0UL, sr.Efer & CpuBits.EferLma);
    }

    [Fact]
    public void Real_mode_interrupts_use_the_interrupt_vector_table()
    {
        using var m = new EmuTestMachine(longMode: false);
        m.Vm.Memory.WriteU32(0x21 * 4, 0x0000_0600);
        m.Load(0x600, a =>
        {
            a.mov(bx, 0x4242);
            a.iret();
        }, bitness: 16);
        m.Load(0x7C00, a =>
        {
            a.@int(0x21);
            a.mov(cx, 7);
            a.hlt();
        }, bitness: 16);
        m.SetRealMode(0x7C00);
        Assert.Equal(VcpuExitKind.Hlt, m.Run().Kind);
        Assert.Equal((0x4242UL, 7UL, 0x7000UL), (m.Regs.Rbx, m.Regs.Rcx, m.Regs.Rsp));
    }

    [Fact]
    public void Cpuid_reports_the_vendor_long_mode_nx_and_no_sse()
    {
        using var m = new EmuTestMachine();
        m.LoadCode(a =>
        {
            a.xor(eax, eax);
            a.cpuid();
            a.mov(r8d, ebx);
            a.mov(r9d, edx);
            a.mov(r10d, ecx);
            a.mov(eax, 1);
            a.cpuid();
            a.mov(r11d, edx);
            a.mov(eax, 0x80000001);
            a.cpuid();
            a.hlt();
        });
        m.Run();
        var r = m.Regs;
        var vendor = string.Concat(new[] { r.R8, r.R9, r.R10 }.Select(v => System.Text.Encoding.ASCII.GetString(BitConverter.GetBytes((uint)v))));
        Assert.Equal(m.Hypervisor.CpuModel.Vendor, vendor);
        Assert.Equal(0UL, r.R11 & (1UL << 25 | 1UL << 26 | 1UL));
        Assert.NotEqual(0UL, r.Rdx & (1UL << 29));
        Assert.NotEqual(0UL, r.Rdx & (1UL << 20));
        Assert.NotEqual(0UL, r.Rdx & (1UL << 11));
    }

    [Fact]
    public void Syscall_and_sysret_switch_privilege_through_the_msrs()
    {
        using var m = new EmuTestMachine();
        ulong kernel = EmuTestMachine.Code + 0x400, user = EmuTestMachine.Code + 0x800;
        m.Cpu.SetMsrs([new MsrEntry(Msr.Lstar, kernel), new MsrEntry(Msr.Star, (0x13UL << 48) | (0x08UL << 32)), new MsrEntry(Msr.Sfmask, 0x200)]);
        m.Load(kernel, a =>
        {
            a.mov(r8, cs);
            a.add(rax, 100);
            a.sysretq();
        });
        m.Load(user, a =>
        {
            a.mov(eax, 1);
            a.syscall();
            a.mov(r9, cs);
            a.mov(r10, ss);
            a.hlt();
        });
        var r = m.Regs;
        r.Rip = user;
        m.Regs = r;
        EmulatedVcpuExceptionTests.InstallRecordingHandlers(m, 13);
        m.Vm.Memory.WriteU64(EmuTestMachine.Tss + 4, 0x70000);
        m.Run();
        r = m.Regs;
        Assert.Equal(101UL, r.Rax);
        Assert.Equal(8UL, r.R8);
        Assert.Equal(0x23UL, r.R9);
        Assert.Equal(0x1BUL, r.R10);
        Assert.Equal(13UL, r.R15);
        Assert.Equal(user + 13, r.R12);
    }
}
