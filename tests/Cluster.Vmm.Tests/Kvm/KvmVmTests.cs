using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Memory;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Cluster.Vmm.Tests.Kvm;

public sealed class KvmVmTests
{
    [KvmFact]
    public void Dirty_log_holds_guest_written_pages_and_vmm_marked_pages_and_is_cleared_when_read()
    {
        using var t = new KvmTestVm();
        t.LoadLongMode(a =>
        {
            a.mov(eax, 0x5a5a);
            a.mov(__dword_ptr[0x20_0000], eax);
            a.mov(__dword_ptr[0x20_5008], eax);
            a.@out(0x10, al);
            a.hlt();
        });
        t.Vm.GetDirtyLog(0); // drop the marks of loading the code and page tables
        Assert.Equal(0x10, t.Run().Port);
        t.Vm.Memory.WriteU32(0x30_0000, 7); // a device write, which KVM does not see

        var log = t.Vm.GetDirtyLog(0);
        Assert.True(log.IsDirty(0x200), "guest write to page 0x200");
        Assert.True(log.IsDirty(0x205), "guest write to page 0x205");
        Assert.True(log.IsDirty(0x300), "VMM write to page 0x300");
        Assert.False(log.IsDirty(0x201), "page 0x201 was not touched");
        Assert.Equal(0x5a5au, t.Vm.Memory.ReadU32(0x20_5008));

        var again = t.Vm.GetDirtyLog(0);
        Assert.False(again.IsDirty(0x200) || again.IsDirty(0x205) || again.IsDirty(0x300), "the log is cleared when read");
    }

    [KvmFact]
    public void Dirty_log_of_a_slot_without_logging_is_refused()
    {
        using var t = new KvmTestVm();
        using var extra = HostMemory.Allocate(0x10000);
        t.Vm.SetUserMemoryRegion(1, 0x1000_0000, extra, MemoryRegionFlags.None);
        var e = Assert.Throws<VmmException>(() => t.Vm.GetDirtyLog(1));
        Assert.Equal("KVM_GET_DIRTY_LOG", e.Operation);
    }

    [KvmFact]
    public void Saved_state_restored_into_a_new_vm_continues_identically()
    {
        using var source = new KvmTestVm();
        source.LoadLongMode(a =>
        {
            var top = a.CreateLabel();
            a.xor(ecx, ecx);
            a.Label(ref top);
            a.inc(ecx);
            a.add(__dword_ptr[0x10_0000], ecx);
            a.mov(eax, __dword_ptr[0x10_0000]);
            a.mov(dx, 0x500);
            a.@out(dx, eax);
            a.jmp(top);
        });
        for (int i = 0; i < 5; i++) Assert.Equal(VcpuExitKind.IoOut, source.Run().Kind);

        var vcpuState = source.Vcpu.SaveState();
        var vmState = source.Vm.SaveState();
        using var target = new KvmTestVm();
        source.Ram.AsSpan(0, (int)KvmTestVm.MemorySize).CopyTo(target.Ram.AsSpan(0, (int)KvmTestVm.MemorySize));
        target.Vm.RestoreState(vmState);
        target.Vcpu.RestoreState(vcpuState);

        Assert.Equal(vcpuState.Registers.Rip, target.Vcpu.GetRegisters().Rip);
        var fromSource = Enumerable.Range(0, 5).Select(_ => source.Run().Data).ToList();
        var fromTarget = Enumerable.Range(0, 5).Select(_ => target.Run().Data).ToList();
        Assert.Equal(fromSource, fromTarget);
        Assert.Equal([21UL, 28, 36, 45, 55], fromTarget); // running sums of 1..n, n = 6..10
    }

    [KvmFact]
    public void Restoring_a_state_with_a_missing_part_is_a_clear_error()
    {
        using var t = new KvmTestVm();
        var state = t.Vcpu.SaveState();
        state.Blobs.Remove("vcpu-events");
        var e = Assert.Throws<VmmException>(() => t.Vcpu.RestoreState(state));
        Assert.Contains("vcpu-events", e.Message);
    }

    [KvmFact]
    public void Overlapping_and_unaligned_memory_slots_are_refused()
    {
        using var t = new KvmTestVm();
        using var extra = HostMemory.Allocate(0x10000);
        Assert.Throws<VmmException>(() => t.Vm.SetUserMemoryRegion(1, 0x1000, extra, MemoryRegionFlags.None));
        Assert.Throws<VmmException>(() => t.Vm.SetUserMemoryRegion(1, 0x1000_0800, extra, MemoryRegionFlags.None));
        Assert.Throws<VmmException>(() => t.Vm.SetUserMemoryRegion(t.Kvm.MaxMemorySlots, 0x1000_0000, extra, MemoryRegionFlags.None));
        Assert.Single(t.Vm.Memory.Slots);
    }

    [KvmFact]
    public void A_slot_can_be_moved_and_removed()
    {
        using var t = new KvmTestVm();
        using var extra = HostMemory.Allocate(0x10000);
        t.Vm.SetUserMemoryRegion(1, 0x1000_0000, extra, MemoryRegionFlags.None);
        t.Vm.SetUserMemoryRegion(1, 0x2000_0000, extra, MemoryRegionFlags.LogDirtyPages);
        Assert.Equal(0x2000_0000UL, t.Vm.Memory.GetSlot(1).GuestPhysAddr);
        t.Vm.SetUserMemoryRegion(1, 0, null, MemoryRegionFlags.None);
        Assert.Single(t.Vm.Memory.Slots);
    }

    [KvmFact]
    public void Vcpu_ids_over_the_limit_or_in_use_are_refused()
    {
        using var t = new KvmTestVm();
        var over = Assert.Throws<VmmException>(() => t.Vm.CreateVcpu(t.Kvm.MaxVcpus));
        Assert.Equal("KVM_CREATE_VCPU", over.Operation);
        Assert.Throws<VmmException>(() => t.Vm.CreateVcpu(0));
        Assert.Throws<VmmException>(() => t.Vm.CreateVcpu(-1));
        Assert.Single(t.Vm.Vcpus);
    }

    [KvmFact]
    public void Irq_lines_out_of_range_or_without_an_irqchip_are_refused()
    {
        using var t = new KvmTestVm();
        Assert.Throws<VmmException>(() => t.Vm.SetIrqLine(24, true));
        using var bare = new KvmTestVm(inKernelIrqchip: false);
        Assert.Throws<VmmException>(() => bare.Vm.SetIrqLine(4, true));
    }
}
