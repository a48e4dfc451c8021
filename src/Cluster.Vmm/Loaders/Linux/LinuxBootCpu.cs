using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Loaders.Linux;

/// <summary>
/// Puts a vCPU straight into 64-bit long mode as a VMM does before entering a kernel's 64-bit entry point:
/// a flat GDT (the Linux boot protocol's __BOOT_CS 0x10 and __BOOT_DS 0x18, and a TSS at 0x20), identity
/// page tables with 2 MiB pages for the first <see cref="IdentityMappedBytes"/>, paging and long mode on.
/// The tables live in low memory below 0x10000, which the x86 boot protocol leaves to the boot loader.
/// Separate from <see cref="Loaders.LongModeSetup"/> (the built-in guests' layout) because the Linux boot
/// protocol fixes the selectors (code 0x10, data 0x18) and wants RSI to point at boot_params.
/// </summary>
public static class LinuxBootCpu
{
    public const ulong GdtAddress = 0x500;
    public const ulong Pml4Address = 0x9000, PdptAddress = 0xa000, PdAddress = 0xb000;

    /// <summary>The identity-mapped range: the first 4 GiB (4 page directories of 2 MiB pages).</summary>
    public const ulong IdentityMappedBytes = 4UL << 30;

    public const ushort CodeSelector = 0x10, DataSelector = 0x18, TssSelector = 0x20;

    private static readonly ulong[] Gdt =
    [
        0,                      // null
        0,                      // unused
        0x00af_9b00_0000_ffff,  // 0x10: 64-bit code, present, DPL 0, execute/read
        0x00cf_9300_0000_ffff,  // 0x18: data, 4 GiB flat, read/write
        0x0080_8b00_0000_0000,  // 0x20: 64-bit TSS (busy), limit 0
    ];

    /// <summary>Writes the GDT and page tables into guest memory and loads the long-mode registers.</summary>
    public static void Enter(IVcpu vcpu, GuestMemory memory, ulong rip, ulong rsp, ulong rsi = 0)
    {
        for (int i = 0; i < Gdt.Length; i++) memory.WriteU64(GdtAddress + (ulong)i * 8, Gdt[i]);
        memory.WriteU64(Pml4Address, PdptAddress | 0x3);
        const int directories = (int)(IdentityMappedBytes >> 30);
        for (int d = 0; d < directories; d++)
        {
            ulong pd = PdAddress + (ulong)d * 0x1000;
            memory.WriteU64(PdptAddress + (ulong)d * 8, pd | 0x3);
            var entries = new byte[4096];
            for (int i = 0; i < 512; i++)
            {
                ulong page = ((ulong)d << 30) | ((ulong)i << 21);
                BitConverter.TryWriteBytes(entries.AsSpan(i * 8), page | 0x83); // present, writable, 2 MiB page
            }
            memory.Write(pd, entries);
        }

        var s = vcpu.GetSpecialRegisters();
        var code = new Segment { Base = 0, Limit = 0xffff_ffff, Selector = CodeSelector, Type = 0xb, Present = true, S = true, L = true, G = true };
        var data = new Segment { Base = 0, Limit = 0xffff_ffff, Selector = DataSelector, Type = 0x3, Present = true, S = true, Db = true, G = true };
        s.Cs = code;
        s.Ds = s.Es = s.Fs = s.Gs = s.Ss = data;
        s.Tr = new Segment { Base = 0, Limit = 0xfffff, Selector = TssSelector, Type = 0xb, Present = true };
        s.Gdt = new DescriptorTable { Base = GdtAddress, Limit = (ushort)(Gdt.Length * 8 - 1) };
        s.Idt = new DescriptorTable { Base = 0, Limit = 0 };
        s.Cr3 = Pml4Address;
        s.Cr4 = CpuBits.Cr4Pae;
        s.Cr0 = CpuBits.Cr0Pe | CpuBits.Cr0Et | CpuBits.Cr0Ne | CpuBits.Cr0Pg;
        s.Efer = CpuBits.EferLme | CpuBits.EferLma;
        vcpu.SetSpecialRegisters(s);
        vcpu.SetRegisters(new Registers { Rip = rip, Rsp = rsp, Rsi = rsi, Rflags = CpuBits.RflagsFixed });
    }
}
