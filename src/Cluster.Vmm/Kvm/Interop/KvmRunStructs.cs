using System.Runtime.InteropServices;

#pragma warning disable IDE1006 // the kernel's names are kept on purpose

namespace Cluster.Vmm.Kvm.Interop;

/// <summary>
/// The start of the kvm_run page shared with the kernel (mmapped from the vCPU fd): the fields before
/// the exit union and the exit parts the VMM reads. The mapping is KVM_GET_VCPU_MMAP_SIZE bytes; this
/// struct is only its prefix, so it is always used through a pointer into that mapping.
/// </summary>
[KernelStruct("struct kvm_run", IsPrefix = true), StructLayout(LayoutKind.Explicit)]
internal struct kvm_run
{
    [FieldOffset(0)] public byte request_interrupt_window;
    [FieldOffset(1)] public byte immediate_exit;
    [FieldOffset(8)] public uint exit_reason;
    [FieldOffset(12)] public byte ready_for_interrupt_injection;
    [FieldOffset(13)] public byte if_flag;
    [FieldOffset(14)] public ushort flags;
    [FieldOffset(16)] public ulong cr8;
    [FieldOffset(24)] public ulong apic_base;
    [FieldOffset(32)] public kvm_run_hw hw;
    [FieldOffset(32)] public kvm_run_fail_entry fail_entry;
    [FieldOffset(32)] public kvm_run_io io;
    [FieldOffset(32)] public kvm_run_mmio mmio;
    [FieldOffset(32)] public kvm_run_internal @internal;
}

/// <summary>kvm_run.hw (KVM_EXIT_UNKNOWN).</summary>
[KernelStruct("hw", Parent = "struct kvm_run"), StructLayout(LayoutKind.Sequential)]
internal struct kvm_run_hw
{
    public ulong hardware_exit_reason;
}

/// <summary>kvm_run.fail_entry (KVM_EXIT_FAIL_ENTRY).</summary>
[KernelStruct("fail_entry", Parent = "struct kvm_run"), StructLayout(LayoutKind.Sequential)]
internal struct kvm_run_fail_entry
{
    public ulong hardware_entry_failure_reason;
    public uint cpu;
}

/// <summary>kvm_run.io (KVM_EXIT_IO): count items of size bytes at data_offset from the start of kvm_run.</summary>
[KernelStruct("io", Parent = "struct kvm_run"), StructLayout(LayoutKind.Sequential)]
internal struct kvm_run_io
{
    public byte direction;
    public byte size;
    public ushort port;
    public uint count;
    public ulong data_offset;
}

/// <summary>kvm_run.mmio (KVM_EXIT_MMIO).</summary>
[KernelStruct("mmio", Parent = "struct kvm_run"), StructLayout(LayoutKind.Sequential)]
internal unsafe struct kvm_run_mmio
{
    public ulong phys_addr;
    public fixed byte data[8];
    public uint len;
    public byte is_write;
}

/// <summary>kvm_run.internal (KVM_EXIT_INTERNAL_ERROR).</summary>
[KernelStruct("internal", Parent = "struct kvm_run"), StructLayout(LayoutKind.Sequential)]
internal unsafe struct kvm_run_internal
{
    public uint suberror;
    public uint ndata;
    public fixed ulong data[16];
}
