using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Hypervisor;

/// <summary>The VM level of the KVM API (the VM fd): memory slots, dirty logs, vCPUs, interrupts.</summary>
public interface IVm : IDisposable
{
    IHypervisor Hypervisor { get; }

    /// <summary>The guest-physical address space; VMM writes through it are dirty-marked.</summary>
    GuestMemory Memory { get; }

    /// <summary>KVM_SET_USER_MEMORY_REGION: adds or replaces slot <paramref name="slot"/>; null memory deletes it.</summary>
    /// <exception cref="VmmException">unaligned, overlapping, out-of-range slot.</exception>
    void SetUserMemoryRegion(int slot, ulong guestPhysAddr, HostMemory? memory, MemoryRegionFlags flags);

    /// <summary>
    /// KVM_GET_DIRTY_LOG: the pages of <paramref name="slot"/> written since the last call (by vCPUs
    /// and by the VMM), cleared as they are returned. On KVM a superset of the written pages.
    /// </summary>
    DirtyBitmap GetDirtyLog(int slot);

    /// <summary>KVM_CREATE_VCPU.</summary>
    /// <exception cref="VmmException">an id over the limit or already in use.</exception>
    IVcpu CreateVcpu(int id);

    IReadOnlyList<IVcpu> Vcpus { get; }

    /// <summary>KVM_IRQ_LINE: drives interrupt line (GSI) <paramref name="irq"/>: 0-15 reach the PIC
    /// (and the I/O APIC where there is one), 16 up to <see cref="InterruptLines"/> - 1 the I/O APIC only.</summary>
    void SetIrqLine(int irq, bool level);

    /// <summary>How many interrupt lines <see cref="SetIrqLine"/> accepts: 16 with PICs only, 24 with
    /// an I/O APIC (KVM's in-kernel irqchip).</summary>
    int InterruptLines { get; }

    /// <summary>Whether <see cref="SignalMsi"/> delivers message-signalled interrupts (it needs local APICs).</summary>
    bool SupportsMsi { get; }

    /// <summary>KVM_SIGNAL_MSI: delivers the message a PCI device writes for an MSI or MSI-X vector
    /// (an address in the 0xFEExxxxx window and its data). Callable from any thread.</summary>
    /// <exception cref="VmmException">the VM has no local APICs (<see cref="SupportsMsi"/> is false).</exception>
    void SignalMsi(ulong address, uint data);

    /// <summary>Captures VM-wide state (interrupt controllers, timer, clock) of a paused VM.</summary>
    VmState SaveState();

    /// <summary>Loads VM-wide state captured by <see cref="SaveState"/> on the same kind of backend.</summary>
    void RestoreState(VmState state);
}
