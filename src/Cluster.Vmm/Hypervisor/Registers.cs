namespace Cluster.Vmm.Hypervisor;

/// <summary>General registers, as kvm_regs.</summary>
public struct Registers
{
    public ulong Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rsp, Rbp;
    public ulong R8, R9, R10, R11, R12, R13, R14, R15;
    public ulong Rip, Rflags;
}

/// <summary>A segment register with its hidden part, as kvm_segment.</summary>
public struct Segment
{
    public ulong Base;
    public uint Limit;
    public ushort Selector;
    /// <summary>The 4-bit type field of the descriptor.</summary>
    public byte Type;
    public bool Present;
    public byte Dpl;
    /// <summary>Default operation size (D/B): 32-bit when set.</summary>
    public bool Db;
    /// <summary>Code or data (not system) segment.</summary>
    public bool S;
    /// <summary>64-bit code segment.</summary>
    public bool L;
    /// <summary>Granularity: limit in 4 KiB units.</summary>
    public bool G;
    public bool Avl;
    public bool Unusable;
}

/// <summary>GDTR or IDTR, as kvm_dtable.</summary>
public struct DescriptorTable
{
    public ulong Base;
    public ushort Limit;
}

/// <summary>Segment, control and descriptor-table registers, as kvm_sregs.</summary>
public struct SpecialRegisters
{
    public Segment Cs, Ds, Es, Fs, Gs, Ss, Tr, Ldt;
    public DescriptorTable Gdt, Idt;
    public ulong Cr0, Cr2, Cr3, Cr4, Cr8;
    public ulong Efer;
    public ulong ApicBase;
}

/// <summary>One model-specific register, as kvm_msr_entry.</summary>
public struct MsrEntry
{
    public uint Index;
    public ulong Data;

    public MsrEntry(uint index, ulong data = 0)
    {
        Index = index;
        Data = data;
    }
}

/// <summary>Architectural MSR numbers used by the VMM.</summary>
public static class Msr
{
    public const uint Tsc = 0x10;
    public const uint ApicBase = 0x1b;
    public const uint SysenterCs = 0x174, SysenterEsp = 0x175, SysenterEip = 0x176;
    public const uint MiscEnable = 0x1a0;
    public const uint Pat = 0x277;
    public const uint Efer = 0xc0000080;
    public const uint Star = 0xc0000081, Lstar = 0xc0000082, Cstar = 0xc0000083, Sfmask = 0xc0000084;
    public const uint FsBase = 0xc0000100, GsBase = 0xc0000101, KernelGsBase = 0xc0000102;
    public const uint TscAux = 0xc0000103;
}

/// <summary>Control-register and EFER bits used by the VMM.</summary>
public static class CpuBits
{
    public const ulong Cr0Pe = 1, Cr0Mp = 1 << 1, Cr0Et = 1 << 4, Cr0Ne = 1 << 5, Cr0Wp = 1 << 16, Cr0Am = 1 << 18, Cr0Pg = 1UL << 31;
    public const ulong Cr4Pse = 1 << 4, Cr4Pae = 1 << 5, Cr4Pge = 1 << 7, Cr4Osfxsr = 1 << 9, Cr4Osxmmexcpt = 1 << 10;
    public const ulong EferSce = 1, EferLme = 1 << 8, EferLma = 1 << 10, EferNxe = 1 << 11;
    public const ulong RflagsFixed = 1 << 1, RflagsIf = 1 << 9;
}
