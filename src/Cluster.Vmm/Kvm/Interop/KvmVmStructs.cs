using System.Runtime.InteropServices;

#pragma warning disable IDE1006 // the kernel's names are kept on purpose

namespace Cluster.Vmm.Kvm.Interop;

/// <summary>KVM_SET_USER_MEMORY_REGION.</summary>
[KernelStruct("struct kvm_userspace_memory_region"), StructLayout(LayoutKind.Sequential)]
internal struct kvm_userspace_memory_region
{
    public uint slot;
    public uint flags;
    public ulong guest_phys_addr;
    public ulong memory_size;
    public ulong userspace_addr;
}

/// <summary>KVM_GET_DIRTY_LOG: the bitmap pointer is written by the kernel.</summary>
[KernelStruct("struct kvm_dirty_log"), StructLayout(LayoutKind.Sequential)]
internal struct kvm_dirty_log
{
    public uint slot;
    public uint padding1;
    public ulong dirty_bitmap;
}

/// <summary>KVM_CLEAR_DIRTY_LOG (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2): re-protects the pages set in the bitmap.</summary>
[KernelStruct("struct kvm_clear_dirty_log"), StructLayout(LayoutKind.Sequential)]
internal struct kvm_clear_dirty_log
{
    public uint slot;
    public uint num_pages;
    public ulong first_page;
    public ulong dirty_bitmap;
}

/// <summary>KVM_ENABLE_CAP.</summary>
[KernelStruct("struct kvm_enable_cap"), StructLayout(LayoutKind.Sequential)]
internal unsafe struct kvm_enable_cap
{
    public uint cap;
    public uint flags;
    public fixed ulong args[4];
    public fixed byte pad[64];
}

/// <summary>KVM_IRQ_LINE.</summary>
[KernelStruct("struct kvm_irq_level"), StructLayout(LayoutKind.Sequential)]
internal struct kvm_irq_level
{
    public uint irq;
    public uint level;
}

/// <summary>KVM_SIGNAL_MSI: one message-signalled interrupt (flags 0, no device id).</summary>
[KernelStruct("struct kvm_msi"), StructLayout(LayoutKind.Sequential)]
internal unsafe struct kvm_msi
{
    public uint address_lo;
    public uint address_hi;
    public uint data;
    public uint flags;
    public uint devid;
    public fixed byte pad[12];
}

/// <summary>KVM_GET_IRQCHIP / KVM_SET_IRQCHIP: one PIC or the IOAPIC, the chip state opaque.</summary>
[KernelStruct("struct kvm_irqchip"), StructLayout(LayoutKind.Sequential)]
internal unsafe struct kvm_irqchip
{
    public uint chip_id;
    public uint pad;
    public fixed byte chip[512];
}

/// <summary>KVM_CREATE_PIT2.</summary>
[KernelStruct("struct kvm_pit_config"), StructLayout(LayoutKind.Sequential)]
internal unsafe struct kvm_pit_config
{
    public uint flags;
    public fixed uint pad[15];
}

/// <summary>KVM_GET_PIT2 / KVM_SET_PIT2, the three channels opaque.</summary>
[KernelStruct("struct kvm_pit_state2"), StructLayout(LayoutKind.Sequential)]
internal unsafe struct kvm_pit_state2
{
    public fixed byte channels[72];
    public uint flags;
    public fixed uint reserved[9];
}

/// <summary>KVM_GET_CLOCK / KVM_SET_CLOCK: the kvmclock base.</summary>
[KernelStruct("struct kvm_clock_data"), StructLayout(LayoutKind.Sequential)]
internal unsafe struct kvm_clock_data
{
    public ulong clock;
    public uint flags;
    public uint pad0;
    public ulong realtime;
    public ulong host_tsc;
    public fixed uint pad[4];
}
