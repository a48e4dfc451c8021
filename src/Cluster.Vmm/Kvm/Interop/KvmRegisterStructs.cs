using System.Runtime.InteropServices;

#pragma warning disable IDE1006 // the kernel's names are kept on purpose

namespace Cluster.Vmm.Kvm.Interop;

/// <summary>KVM_GET_REGS / KVM_SET_REGS.</summary>
[KernelStruct("struct kvm_regs"), StructLayout(LayoutKind.Sequential)]
internal struct kvm_regs
{
    public ulong rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
    public ulong r8, r9, r10, r11, r12, r13, r14, r15;
    public ulong rip, rflags;
}

/// <summary>A segment register in kvm_sregs.</summary>
[KernelStruct("struct kvm_segment"), StructLayout(LayoutKind.Sequential)]
internal struct kvm_segment
{
    public ulong @base;
    public uint limit;
    public ushort selector;
    public byte type;
    public byte present, dpl, db, s, l, g, avl;
    public byte unusable;
    public byte padding;
}

/// <summary>GDTR / IDTR in kvm_sregs.</summary>
[KernelStruct("struct kvm_dtable"), StructLayout(LayoutKind.Sequential)]
internal unsafe struct kvm_dtable
{
    public ulong @base;
    public ushort limit;
    public fixed ushort padding[3];
}

/// <summary>KVM_GET_SREGS / KVM_SET_SREGS.</summary>
[KernelStruct("struct kvm_sregs"), StructLayout(LayoutKind.Sequential)]
internal unsafe struct kvm_sregs
{
    public kvm_segment cs, ds, es, fs, gs, ss;
    public kvm_segment tr, ldt;
    public kvm_dtable gdt, idt;
    public ulong cr0, cr2, cr3, cr4, cr8;
    public ulong efer;
    public ulong apic_base;
    public fixed ulong interrupt_bitmap[4];
}

/// <summary>One MSR in kvm_msrs.</summary>
[KernelStruct("struct kvm_msr_entry"), StructLayout(LayoutKind.Sequential)]
internal struct kvm_msr_entry
{
    public uint index;
    public uint reserved;
    public ulong data;
}

/// <summary>The header of KVM_GET_MSRS / KVM_SET_MSRS; <see cref="kvm_msr_entry"/>s follow it.</summary>
[KernelStruct("struct kvm_msrs"), StructLayout(LayoutKind.Sequential)]
internal struct kvm_msrs
{
    public uint nmsrs;
    public uint pad;
}

/// <summary>The header of KVM_GET_MSR_INDEX_LIST; nmsrs u32 indices follow it.</summary>
[KernelStruct("struct kvm_msr_list"), StructLayout(LayoutKind.Sequential)]
internal struct kvm_msr_list
{
    public uint nmsrs;
}

/// <summary>KVM_GET_FPU / KVM_SET_FPU (legacy FXSAVE-format state).</summary>
[KernelStruct("struct kvm_fpu"), StructLayout(LayoutKind.Sequential)]
internal unsafe struct kvm_fpu
{
    public fixed byte fpr[128];
    public ushort fcw;
    public ushort fsw;
    public byte ftwx;
    public byte pad1;
    public ushort last_opcode;
    public ulong last_ip;
    public ulong last_dp;
    public fixed byte xmm[256];
    public uint mxcsr;
    public uint pad2;
}

/// <summary>KVM_GET_XSAVE / KVM_SET_XSAVE: the XSAVE area, opaque to the VMM.</summary>
[KernelStruct("struct kvm_xsave"), StructLayout(LayoutKind.Sequential)]
internal unsafe struct kvm_xsave
{
    public fixed uint region[1024];
}

/// <summary>One extended control register in kvm_xcrs.</summary>
[KernelStruct("struct kvm_xcr"), StructLayout(LayoutKind.Sequential)]
internal struct kvm_xcr
{
    public uint xcr;
    public uint reserved;
    public ulong value;
}

/// <summary>KVM_GET_XCRS / KVM_SET_XCRS.</summary>
[KernelStruct("struct kvm_xcrs"), StructLayout(LayoutKind.Sequential)]
internal unsafe struct kvm_xcrs
{
    public uint nr_xcrs;
    public uint flags;
    public fixed byte xcrs[16 * 16];
    public fixed ulong padding[16];
}

/// <summary>KVM_GET_LAPIC / KVM_SET_LAPIC: the local APIC's register page.</summary>
[KernelStruct("struct kvm_lapic_state"), StructLayout(LayoutKind.Sequential)]
internal unsafe struct kvm_lapic_state
{
    public fixed byte regs[KvmConstants.KVM_APIC_REG_SIZE];
}

/// <summary>KVM_GET_VCPU_EVENTS / KVM_SET_VCPU_EVENTS: pending exceptions, interrupts, NMIs, SMIs.</summary>
[KernelStruct("struct kvm_vcpu_events"), StructLayout(LayoutKind.Sequential)]
internal unsafe struct kvm_vcpu_events
{
    public fixed byte exception[8];
    public fixed byte interrupt[4];
    public fixed byte nmi[4];
    public uint sipi_vector;
    public uint flags;
    public fixed byte smi[4];
    public fixed byte triple_fault[1];
    public fixed byte reserved[26];
    public byte exception_has_payload;
    public ulong exception_payload;
}

/// <summary>KVM_GET_MP_STATE / KVM_SET_MP_STATE.</summary>
[KernelStruct("struct kvm_mp_state"), StructLayout(LayoutKind.Sequential)]
internal struct kvm_mp_state
{
    public uint mp_state;
}

/// <summary>One CPUID leaf in kvm_cpuid2.</summary>
[KernelStruct("struct kvm_cpuid_entry2"), StructLayout(LayoutKind.Sequential)]
internal unsafe struct kvm_cpuid_entry2
{
    public uint function;
    public uint index;
    public uint flags;
    public uint eax, ebx, ecx, edx;
    public fixed uint padding[3];
}

/// <summary>The header of KVM_GET_SUPPORTED_CPUID / KVM_SET_CPUID2; nent entries follow it.</summary>
[KernelStruct("struct kvm_cpuid2"), StructLayout(LayoutKind.Sequential)]
internal struct kvm_cpuid2
{
    public uint nent;
    public uint padding;
}
