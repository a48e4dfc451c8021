using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Kvm.Interop;
using Cluster.Vmm.Memory;
using static Cluster.Vmm.Kvm.Interop.KvmConstants;

namespace Cluster.Vmm.Kvm;

/// <summary>
/// A KVM VM fd: memory slots (validated by <see cref="GuestMemory"/>, then given to KVM), dirty logs merged
/// with the VMM's own marks, vCPUs, and by default the in-kernel irqchip (PIC, IOAPIC, local APICs) and PIT2.
/// </summary>
public sealed unsafe class KvmVm : IVm
{
    /// <summary>Three pages below 4 GiB that KVM needs for the real-mode TSS on Intel (KVM_SET_TSS_ADDR).</summary>
    public const ulong TssAddress = 0xfffb_d000;

    /// <summary>One page for the identity map of unrestricted-guest-less Intel CPUs (KVM_SET_IDENTITY_MAP_ADDR).</summary>
    public const ulong IdentityMapAddress = 0xfffb_c000;

    private readonly KvmHypervisor _kvm;
    private readonly KvmFd _fd;
    private readonly object _gate = new();
    private readonly List<KvmVcpu> _vcpus = [];
    private readonly bool _manualProtect;

    internal KvmVm(KvmHypervisor kvm, bool inKernelIrqchip)
    {
        _kvm = kvm;
        _fd = new KvmFd(kvm.Fd.Ioctl("KVM_CREATE_VM", KvmIoctls.KVM_CREATE_VM));
        try
        {
            _fd.Ioctl("KVM_SET_TSS_ADDR", KvmIoctls.KVM_SET_TSS_ADDR, (nuint)TssAddress);
            ulong identity = IdentityMapAddress;
            _fd.Ioctl("KVM_SET_IDENTITY_MAP_ADDR", KvmIoctls.KVM_SET_IDENTITY_MAP_ADDR, &identity);
            if (inKernelIrqchip)
            {
                _fd.Ioctl("KVM_CREATE_IRQCHIP", KvmIoctls.KVM_CREATE_IRQCHIP);
                var pit = new kvm_pit_config { flags = KVM_PIT_SPEAKER_DUMMY };
                _fd.Ioctl("KVM_CREATE_PIT2", KvmIoctls.KVM_CREATE_PIT2, &pit);
            }
            if (kvm.HasManualDirtyLogProtect)
            {
                var cap = new kvm_enable_cap { cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 };
                cap.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
                _manualProtect = _fd.TryIoctl(KvmIoctls.KVM_ENABLE_CAP, &cap, out _) == 0;
            }
        }
        catch
        {
            _fd.Dispose();
            throw;
        }
        InKernelIrqchip = inKernelIrqchip;
    }

    public IHypervisor Hypervisor => _kvm;
    public GuestMemory Memory { get; } = new();

    /// <summary>Whether the PIC, IOAPIC, local APICs and PIT live in the kernel.</summary>
    public bool InKernelIrqchip { get; }

    internal KvmHypervisor Kvm => _kvm;
    internal KvmFd Fd => _fd;

    public IReadOnlyList<IVcpu> Vcpus
    {
        get { lock (_gate) return [.. _vcpus]; }
    }

    public void SetUserMemoryRegion(int slot, ulong guestPhysAddr, HostMemory? memory, MemoryRegionFlags flags)
    {
        lock (_gate)
        {
            var old = Memory.Slots.FirstOrDefault(s => s.Slot == slot);
            Memory.SetRegion(slot, guestPhysAddr, memory, flags, _kvm.MaxMemorySlots);
            try
            {
                bool movesOrResizes = old is not null && (memory is null || old.GuestPhysAddr != guestPhysAddr || old.Memory != memory);
                if (movesOrResizes) SetKernelRegion(slot, old!.GuestPhysAddr, null, 0);
                if (memory is not null) SetKernelRegion(slot, guestPhysAddr, memory, flags);
            }
            catch
            {
                Memory.SetRegion(slot, old?.GuestPhysAddr ?? 0, old?.Memory, old?.Flags ?? 0, _kvm.MaxMemorySlots);
                if (old is not null) SetKernelRegion(slot, old.GuestPhysAddr, old.Memory, old.Flags);
                throw;
            }
        }
    }

    private void SetKernelRegion(int slot, ulong gpa, HostMemory? memory, MemoryRegionFlags flags)
    {
        var region = new kvm_userspace_memory_region
        {
            slot = (uint)slot,
            flags = (uint)flags,
            guest_phys_addr = gpa,
            memory_size = memory?.Size ?? 0,
            userspace_addr = memory is null ? 0 : (ulong)memory.Pointer,
        };
        _fd.Ioctl("KVM_SET_USER_MEMORY_REGION", KvmIoctls.KVM_SET_USER_MEMORY_REGION, &region);
    }

    public DirtyBitmap GetDirtyLog(int slot)
    {
        var s = Memory.GetSlot(slot);
        if (!s.LogDirty)
            throw new VmmException($"slot {slot} does not log dirty pages (set MemoryRegionFlags.LogDirtyPages)", "KVM_GET_DIRTY_LOG");
        ulong pages = s.Size >> GuestAddress.PageShift;
        var words = new ulong[(pages + 63) / 64];
        fixed (ulong* bitmap = words)
        {
            var log = new kvm_dirty_log { slot = (uint)slot, dirty_bitmap = (ulong)bitmap };
            // SAFETY: the bitmap is pinned and holds one bit per page of the slot, rounded up to 64 bits as KVM writes it.
            _fd.Ioctl("KVM_GET_DIRTY_LOG", KvmIoctls.KVM_GET_DIRTY_LOG, &log);
            if (_manualProtect)
            {
                var clear = new kvm_clear_dirty_log { slot = (uint)slot, first_page = 0, num_pages = (uint)pages, dirty_bitmap = (ulong)bitmap };
                // SAFETY: the same pinned bitmap, covering exactly the slot's pages; KVM re-protects the pages set in it.
                _fd.Ioctl("KVM_CLEAR_DIRTY_LOG", KvmIoctls.KVM_CLEAR_DIRTY_LOG, &clear);
            }
        }
        var result = DirtyBitmap.FromWords(pages, words);
        result.UnionWith(s.Dirty.TakeAndClear());
        return result;
    }

    public IVcpu CreateVcpu(int id)
    {
        lock (_gate)
        {
            if (id < 0 || id >= _kvm.MaxVcpus)
                throw new VmmException($"vCPU id {id} is out of range 0..{_kvm.MaxVcpus - 1}", "KVM_CREATE_VCPU");
            if (_vcpus.Any(v => v.Id == id))
                throw new VmmException($"vCPU {id} already exists", "KVM_CREATE_VCPU");
            var vcpu = new KvmVcpu(this, id);
            _vcpus.Add(vcpu);
            return vcpu;
        }
    }

    public void SetIrqLine(int irq, bool level)
    {
        if (!InKernelIrqchip)
            throw new VmmException("this VM has no in-kernel irqchip", "KVM_IRQ_LINE");
        if (irq is < 0 or > 23)
            throw new VmmException($"interrupt line {irq} is out of range 0..23", "KVM_IRQ_LINE");
        var line = new kvm_irq_level { irq = (uint)irq, level = level ? 1u : 0u };
        _fd.Ioctl("KVM_IRQ_LINE", KvmIoctls.KVM_IRQ_LINE, &line);
    }

    /// <inheritdoc />
    public int InterruptLines => InKernelIrqchip ? 24 : 0;

    /// <inheritdoc />
    public bool SupportsMsi => InKernelIrqchip && _kvm.HasSignalMsi;

    /// <inheritdoc />
    public void SignalMsi(ulong address, uint data)
    {
        if (!SupportsMsi)
            throw new VmmException("this VM cannot deliver MSIs (no in-kernel irqchip or no KVM_CAP_SIGNAL_MSI)", "KVM_SIGNAL_MSI");
        var msi = new kvm_msi { address_lo = (uint)address, address_hi = (uint)(address >> 32), data = data };
        // SAFETY: msi is a blittable local of the kernel's layout; the ioctl only reads it.
        int delivered = _fd.Ioctl("KVM_SIGNAL_MSI", KvmIoctls.KVM_SIGNAL_MSI, &msi);
        _ = delivered; // 0: blocked by the guest (masked in its APIC); > 0: delivered. Both are normal.
    }

    private static readonly (string Name, uint Chip)[] Chips =
        [("pic-master", KVM_IRQCHIP_PIC_MASTER), ("pic-slave", KVM_IRQCHIP_PIC_SLAVE), ("ioapic", KVM_IRQCHIP_IOAPIC)];

    public VmState SaveState()
    {
        var state = new VmState { Backend = BackendKind.Kvm };
        if (InKernelIrqchip)
        {
            foreach (var (name, chip) in Chips)
            {
                var c = new kvm_irqchip { chip_id = chip };
                _fd.Ioctl("KVM_GET_IRQCHIP", KvmIoctls.KVM_GET_IRQCHIP, &c);
                state.Blobs[name] = Blob.From(c);
            }
            kvm_pit_state2 pit;
            _fd.Ioctl("KVM_GET_PIT2", KvmIoctls.KVM_GET_PIT2, &pit);
            state.Blobs["pit2"] = Blob.From(pit);
        }
        kvm_clock_data clock;
        _fd.Ioctl("KVM_GET_CLOCK", KvmIoctls.KVM_GET_CLOCK, &clock);
        state.Blobs["clock"] = Blob.From(clock);
        return state;
    }

    public void RestoreState(VmState state)
    {
        if (state.Backend != BackendKind.Kvm)
            throw new VmmException($"a {state.Backend} VM state cannot be restored on KVM", "restore");
        if (InKernelIrqchip)
        {
            foreach (var (name, _) in Chips)
            {
                var c = Blob.To<kvm_irqchip>(state, name);
                _fd.Ioctl("KVM_SET_IRQCHIP", KvmIoctls.KVM_SET_IRQCHIP, &c);
            }
            var pit = Blob.To<kvm_pit_state2>(state, "pit2");
            _fd.Ioctl("KVM_SET_PIT2", KvmIoctls.KVM_SET_PIT2, &pit);
        }
        var saved = Blob.To<kvm_clock_data>(state, "clock");
        var clock = new kvm_clock_data { clock = saved.clock };
        _fd.Ioctl("KVM_SET_CLOCK", KvmIoctls.KVM_SET_CLOCK, &clock);
    }

    internal void Forget(KvmVcpu vcpu)
    {
        lock (_gate) _vcpus.Remove(vcpu);
    }

    public void Dispose()
    {
        foreach (var v in Vcpus) v.Dispose();
        _fd.Dispose();
    }
}
