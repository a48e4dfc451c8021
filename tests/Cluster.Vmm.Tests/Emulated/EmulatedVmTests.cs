using Cluster.Vmm.Emulated;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Memory;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Cluster.Vmm.Tests.Emulated;

/// <summary>VM-level behaviour: vCPU ids, dirty logs, self-modifying code, LOCK atomicity, state save and restore.</summary>
public sealed class EmulatedVmTests
{
    [Fact]
    public void Vcpu_ids_are_bounded_and_unique()
    {
        using var hv = new EmulatedHypervisor();
        using var vm = hv.CreateVm();
        Assert.Equal(BackendKind.Emulated, hv.Kind);
        Assert.Equal("emulated", hv.Name);
        vm.CreateVcpu(0);
        vm.CreateVcpu(hv.MaxVcpus - 1);
        Assert.Throws<VmmException>(() => vm.CreateVcpu(0));
        Assert.Throws<VmmException>(() => vm.CreateVcpu(hv.MaxVcpus));
        Assert.Throws<VmmException>(() => vm.CreateVcpu(-1));
        Assert.Equal(2, vm.Vcpus.Count);
    }

    [Fact]
    public void Memory_regions_are_validated()
    {
        using var hv = new EmulatedHypervisor();
        using var vm = hv.CreateVm();
        using var mem = HostMemory.Allocate(0x10000);
        using var mem2 = HostMemory.Allocate(0x10000);
        vm.SetUserMemoryRegion(0, 0, mem, MemoryRegionFlags.None);
        Assert.Throws<VmmException>(() => vm.SetUserMemoryRegion(1, 0x8000, mem2, MemoryRegionFlags.None));
        Assert.Throws<VmmException>(() => vm.SetUserMemoryRegion(1, 0x10800, mem2, MemoryRegionFlags.None));
        Assert.Throws<VmmException>(() => vm.SetUserMemoryRegion(hv.MaxMemorySlots, 0x100000, mem2, MemoryRegionFlags.None));
    }

    [Fact]
    public void Dirty_log_holds_exactly_the_written_pages_and_is_cleared_by_reading_it()
    {
        using var m = new EmuTestMachine(logDirty: true);
        ulong d = EmuTestMachine.Data;
        m.LoadCode(a =>
        {
            a.mov(rbx, d);
            a.mov(__byte_ptr[rbx], 1);
            a.mov(__qword_ptr[rbx + 0x3000], rbx);
            a.mov(rax, __qword_ptr[rbx + 0x4000]);
            a.mov(__dword_ptr[rbx + 0x7FFE], 0x12345678);
            a.lea(rdi, __[rbx + 0xA000]);
            a.mov(ecx, 0x2000);
            a.rep.stosb();
            a.hlt();
        });
        Assert.Equal(new[] { EmuTestMachine.Code >> 12 }, m.Vm.GetDirtyLog(0).DirtyPages().ToArray());
        Assert.Equal(VcpuExitKind.Hlt, m.Run().Kind);
        var pages = m.Vm.GetDirtyLog(0).DirtyPages().ToArray();
        ulong p = d >> 12;
        Assert.Equal(new[] { p, p + 3, p + 7, p + 8, p + 10, p + 11 }, pages);
        Assert.Empty(m.Vm.GetDirtyLog(0).DirtyPages());

        m.Vm.Memory.WriteU32(d + 0x20000, 5);
        Assert.Equal(new[] { p + 0x20 }, m.Vm.GetDirtyLog(0).DirtyPages().ToArray());
    }

    [Fact]
    public void Self_modifying_code_sees_its_own_store_in_the_same_block()
    {
        using var m = new EmuTestMachine();
        m.LoadCode(a =>
        {
            var patch = a.CreateLabel();
            a.lea(rbx, __[patch]);
            a.mov(__byte_ptr[rbx + 1], 0x42);
            a.Label(ref patch);
            a.mov(al, 0x11);
            a.hlt();
        });
        Assert.Equal(VcpuExitKind.Hlt, m.Run().Kind);
        Assert.Equal(0x42UL, m.Regs.Rax & 0xFF);
    }

    [Fact]
    public void Code_rewritten_by_the_vmm_or_another_vcpu_is_decoded_again()
    {
        using var m = new EmuTestMachine(vcpus: 2);
        ulong func = EmuTestMachine.Code + 0x100;
        m.Load(func, a =>
        {
            a.mov(eax, 1);
            a.ret();
        });
        m.LoadCode(a =>
        {
            a.mov(rbx, func);
            a.call(rbx);
            a.hlt();
        });
        m.Run();
        Assert.Equal(1UL, m.Regs.Rax);

        m.Load(func, a =>
        {
            a.mov(eax, 2);
            a.ret();
        });
        m.Regs = m.Regs with { Rip = EmuTestMachine.Code, Rsp = EmuTestMachine.StackTop };
        m.Run();
        Assert.Equal(2UL, m.Regs.Rax);

        var other = m.Vcpus[1];
        ulong writer = EmuTestMachine.Code + 0x200;
        m.Load(writer, a =>
        {
            a.mov(rbx, func + 1);
            a.mov(__dword_ptr[rbx], 3);
            a.hlt();
        });
        other.SetRegisters(new Registers { Rip = writer, Rsp = EmuTestMachine.StackTop - 0x1000, Rflags = 2 });
        Assert.Equal(VcpuExitKind.Hlt, other.Run().Kind);
        m.Regs = m.Regs with { Rip = EmuTestMachine.Code, Rsp = EmuTestMachine.StackTop };
        m.Run();
        Assert.Equal(3UL, m.Regs.Rax);
    }

    [Fact]
    public void Lock_xadd_from_four_vcpu_threads_loses_no_increment()
    {
        const int Iterations = 50_000;
        using var m = new EmuTestMachine(vcpus: 4);
        m.LoadCode(a =>
        {
            var loop = a.CreateLabel();
            a.mov(rbx, EmuTestMachine.Data);
            a.mov(ecx, Iterations);
            a.Label(ref loop);
            a.mov(eax, 1);
            a.@lock.xadd(__qword_ptr[rbx], rax);
            a.@lock.inc(__qword_ptr[rbx + 8]);
            a.dec(ecx);
            a.jnz(loop);
            a.hlt();
        });
        var exits = new VcpuExit[4];
        var threads = m.Vcpus.Select((v, i) => new Thread(() => exits[i] = v.Run())).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.All(exits, e => Assert.Equal(VcpuExitKind.Hlt, e.Kind));
        Assert.Equal(4UL * Iterations, m.Vm.Memory.ReadU64(EmuTestMachine.Data));
        Assert.Equal(4UL * Iterations, m.Vm.Memory.ReadU64(EmuTestMachine.Data + 8));
    }

    [Fact]
    public void A_restored_vcpu_continues_identically_in_a_fresh_vm()
    {
        static void Program(Iced.Intel.Assembler a)
        {
            var loop = a.CreateLabel();
            a.mov(rbx, EmuTestMachine.Data);
            a.mov(eax, 0x12345);
            a.xor(ecx, ecx);
            a.Label(ref loop);
            a.imul(eax, eax, 1103515245);
            a.add(eax, 12345);
            a.xor(__dword_ptr[rbx + rcx * 4], eax);
            a.@out(0x99, eax);
            a.inc(ecx);
            a.and(ecx, 1023);
            a.jmp(loop);
        }
        using var src = new EmuTestMachine();
        src.LoadCode(Program);
        for (int i = 0; i < 100; i++) Assert.Equal(VcpuExitKind.IoOut, src.Cpu.Run().Kind);
        var cpuState = src.Cpu.SaveState();
        var vmState = src.Vm.SaveState();
        using var dst = new EmuTestMachine(longMode: false);
        var image = new byte[EmuTestMachine.MemSize];
        src.Vm.Memory.Read(0, image);
        dst.Vm.Memory.Write(0, image);
        dst.Vm.RestoreState(vmState);
        dst.Cpu.RestoreState(cpuState);
        for (int i = 0; i < 3000; i++)
        {
            var a = src.Cpu.Run();
            var b = dst.Cpu.Run();
            Assert.Equal((a.Kind, a.Port, a.Data), (b.Kind, b.Port, b.Data));
        }
        Assert.Equal(src.Regs, dst.Regs);
        Assert.Equal(src.Vm.Memory.ReadU64(EmuTestMachine.Data + 64), dst.Vm.Memory.ReadU64(EmuTestMachine.Data + 64));
    }
}
