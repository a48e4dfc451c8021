using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Loaders;

/// <summary>
/// Puts a vCPU straight into 64-bit long mode, as KVM-based VMMs do instead of running firmware:
/// writes a GDT and identity-mapped page tables (2 MiB pages) into the reserved area described by
/// <see cref="GuestLayout"/>, and gives the register values that enter the guest at its entry point.
/// </summary>
public static class LongModeSetup
{
    private const ulong PagePresent = 1, PageWritable = 2, PageLarge = 0x80;
    private const ulong TwoMiB = 2UL << 20, OneGiB = 1UL << 30;

    /// <summary>GDT entries in order: null, 64-bit code (0x08), data (0x10), TSS (0x18, 16 bytes).</summary>
    private static readonly ulong[] Gdt =
    [
        0,
        0x00af9b000000ffff,
        0x00cf93000000ffff,
        0x00008b0000000067,
        0,
    ];

    /// <summary>How many bytes the identity map covers for a guest of <paramref name="memoryBytes"/>:
    /// whole gigabytes, at least 4 GiB so that the 32-bit MMIO hole is reachable.</summary>
    public static ulong MappedBytes(ulong memoryBytes) =>
        Math.Max(4UL, (memoryBytes + OneGiB - 1) / OneGiB) * OneGiB;

    /// <summary>Writes the GDT and the page tables for a guest of <paramref name="memoryBytes"/> bytes.</summary>
    /// <exception cref="VmmException">memory below <see cref="GuestLayout.MinMemoryBytes"/> or above <see cref="GuestLayout.MaxMemoryBytes"/>.</exception>
    public static void WriteTables(GuestMemory memory, ulong memoryBytes)
    {
        if (memoryBytes < GuestLayout.MinMemoryBytes || memoryBytes > GuestLayout.MaxMemoryBytes)
            throw new VmmException($"guest memory of {memoryBytes} bytes is outside the supported range {GuestLayout.MinMemoryBytes}..{GuestLayout.MaxMemoryBytes}", "boot-setup");

        var gdt = new byte[Gdt.Length * 8];
        for (int i = 0; i < Gdt.Length; i++) BitConverter.TryWriteBytes(gdt.AsSpan(i * 8), Gdt[i]);
        memory.Write(GuestLayout.GdtAddress, gdt);

        int directories = (int)(MappedBytes(memoryBytes) / OneGiB);
        var page = new byte[GuestAddress.PageSize];
        BitConverter.TryWriteBytes(page, GuestLayout.PdptAddress | PagePresent | PageWritable);
        memory.Write(GuestLayout.Pml4Address, page);

        Array.Clear(page);
        for (int d = 0; d < directories; d++)
            BitConverter.TryWriteBytes(page.AsSpan(d * 8), (GuestLayout.PageDirectoriesAddress + (ulong)d * GuestAddress.PageSize) | PagePresent | PageWritable);
        memory.Write(GuestLayout.PdptAddress, page);

        for (int d = 0; d < directories; d++)
        {
            for (int e = 0; e < 512; e++)
            {
                ulong target = (ulong)d * OneGiB + (ulong)e * TwoMiB;
                BitConverter.TryWriteBytes(page.AsSpan(e * 8), target | PagePresent | PageWritable | PageLarge);
            }
            memory.Write(GuestLayout.PageDirectoriesAddress + (ulong)d * GuestAddress.PageSize, page);
        }
    }

    /// <summary>The general registers of vCPU <paramref name="vcpuId"/> at entry (see <see cref="GuestLayout"/>).</summary>
    public static Registers InitialRegisters(int vcpuId, int vcpuCount, ulong entry, BootArguments args, ulong memoryBytes) => new()
    {
        Rip = entry,
        Rsp = GuestLayout.StackTop(vcpuId),
        Rflags = CpuBits.RflagsFixed,
        Rdi = (ulong)args.Count,
        Rsi = args.ArgvAddress,
        Rdx = (ulong)vcpuId,
        Rcx = (ulong)vcpuCount,
        R8 = memoryBytes,
    };

    /// <summary>Special registers for 64-bit mode with the GDT and page tables of <see cref="WriteTables"/>.</summary>
    public static SpecialRegisters InitialSpecialRegisters(SpecialRegisters current)
    {
        var code = new Segment
        {
            Base = 0, Limit = 0xffffffff, Selector = GuestLayout.CodeSelector, Type = 0xb,
            Present = true, Dpl = 0, Db = false, S = true, L = true, G = true,
        };
        var data = new Segment
        {
            Base = 0, Limit = 0xffffffff, Selector = GuestLayout.DataSelector, Type = 0x3,
            Present = true, Dpl = 0, Db = true, S = true, L = false, G = true,
        };
        var tss = new Segment
        {
            Base = 0, Limit = 0x67, Selector = GuestLayout.TssSelector, Type = 0xb,
            Present = true, Dpl = 0, Db = false, S = false, L = false, G = false,
        };
        var s = current;
        s.Cs = code;
        s.Ds = s.Es = s.Fs = s.Gs = s.Ss = data;
        s.Tr = tss;
        s.Ldt = new Segment { Type = 0x2, Present = false, Unusable = true };
        s.Gdt = new DescriptorTable { Base = GuestLayout.GdtAddress, Limit = (ushort)(Gdt.Length * 8 - 1) };
        s.Idt = new DescriptorTable { Base = 0, Limit = 0 };
        s.Cr0 = CpuBits.Cr0Pe | CpuBits.Cr0Mp | CpuBits.Cr0Et | CpuBits.Cr0Ne | CpuBits.Cr0Wp | CpuBits.Cr0Pg;
        s.Cr3 = GuestLayout.Pml4Address;
        s.Cr4 = CpuBits.Cr4Pae;
        s.Efer = CpuBits.EferLme | CpuBits.EferLma;
        return s;
    }
}
