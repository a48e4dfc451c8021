namespace Cluster.Vmm.Loaders;

/// <summary>
/// Where the VMM puts what it gives a 64-bit guest, all below 1 MiB, and the registers it starts
/// each vCPU with. Guest images must load at or above <see cref="ImageBase"/>.
/// <code>
///   0x00000 - 0x00fff  unused (null page, left unmapped by nothing: the first 2 MiB page maps it)
///   0x01000 - 0x01fff  GDT: 0x00 null, 0x08 64-bit code, 0x10 data, 0x18 TSS
///   0x02000 - 0x02fff  PML4 (CR3)
///   0x03000 - 0x03fff  PDPT
///   0x04000 - 0x13fff  page directories, 2 MiB pages, identity map of max(4 GiB, memory)
///   0x14000 - 0x1ffff  argument block: argv pointers then the strings
///   0x20000 - 0xfffff  vCPU stacks, 16 KiB each, vCPU i's top at 0x100000 - i * 0x4000
///   0x100000 -         the guest image
/// </code>
/// Registers at entry (the System V order, so that _start can call a C function directly):
/// rdi = argc, rsi = argv (guest-physical = virtual), rdx = vCPU id, rcx = vCPU count,
/// r8 = guest memory bytes, rsp = the vCPU's stack top (16-byte aligned), rip = the image entry,
/// rflags = 0x2 (interrupts off). Every vCPU starts at the same entry; the guest tells them apart by rdx.
/// </summary>
public static class GuestLayout
{
    public const ulong GdtAddress = 0x1000;
    public const ulong Pml4Address = 0x2000;
    public const ulong PdptAddress = 0x3000;
    public const ulong PageDirectoriesAddress = 0x4000;

    /// <summary>Page directories that fit (each maps 1 GiB), so the largest guest memory is 16 GiB.</summary>
    public const int MaxPageDirectories = 16;

    public const ulong ArgsAddress = 0x14000;
    public const ulong ArgsEnd = 0x20000;
    public const ulong StacksBottom = 0x20000;
    public const ulong StacksTop = 0x100000;
    public const ulong StackSize = 0x4000;

    /// <summary>The lowest address a guest image may use; everything below belongs to the VMM.</summary>
    public const ulong ImageBase = 0x100000;

    /// <summary>The most vCPUs that get a stack in the reserved area.</summary>
    public const int MaxVcpus = (int)((StacksTop - StacksBottom) / StackSize);

    /// <summary>The smallest guest memory: the reserved megabyte plus one for the image.</summary>
    public const ulong MinMemoryBytes = 2UL << 20;

    /// <summary>The largest guest memory the page tables map.</summary>
    public const ulong MaxMemoryBytes = (ulong)MaxPageDirectories << 30;

    /// <summary>GDT selectors.</summary>
    public const ushort CodeSelector = 0x08, DataSelector = 0x10, TssSelector = 0x18;

    /// <summary>The stack top of vCPU <paramref name="vcpuId"/>.</summary>
    public static ulong StackTop(int vcpuId) => StacksTop - (ulong)vcpuId * StackSize;
}
