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

    /// <summary>KVM_IRQ_LINE: drives ISA interrupt line <paramref name="irq"/> (0-15) of the PIC.</summary>
    void SetIrqLine(int irq, bool level);

    /// <summary>Captures VM-wide state (interrupt controllers, timer, clock) of a paused VM.</summary>
    VmState SaveState();

    /// <summary>Loads VM-wide state captured by <see cref="SaveState"/> on the same kind of backend.</summary>
    void RestoreState(VmState state);
}
