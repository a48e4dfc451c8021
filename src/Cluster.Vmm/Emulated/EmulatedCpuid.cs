using System.Text;

namespace Cluster.Vmm.Emulated;

/// <summary>
/// The CPUID leaves of the emulated CPU. They report only what the interpreter implements: no
/// FPU/SSE, no local APIC; long mode, NX, SYSCALL, 1 GiB pages, RDTSCP, POPCNT, LZCNT, CMPXCHG16B.
/// </summary>
public static class EmulatedCpuid
{
    /// <summary>The vendor string of leaf 0.</summary>
    public const string Vendor = "ClusterVmmEm";

    /// <summary>Feature names offered (Linux /proc/cpuinfo spelling), for migration compatibility checks.</summary>
    public static readonly IReadOnlyList<string> Features =
        ["pse", "tsc", "msr", "pae", "cx8", "pge", "cmov", "pat", "cx16", "popcnt", "hypervisor", "syscall", "nx", "pdpe1gb", "rdtscp", "lm", "lahf_lm", "abm"];

    private const uint Leaf1Edx = (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 13) | (1u << 15) | (1u << 16);
    private const uint Leaf1Ecx = (1u << 13) | (1u << 23) | (1u << 31);
    private const uint Ext1Edx = (1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29);
    private const uint Ext1Ecx = (1u << 0) | (1u << 5);

    private static readonly byte[] Brand = Encoding.ASCII.GetBytes("Cluster VMM emulated x86-64 CPU".PadRight(48, '\0'));

    private static uint Word(string s, int i) => BitConverter.ToUInt32(Encoding.ASCII.GetBytes(s), i * 4);

    /// <summary>EAX, EBX, ECX, EDX of CPUID leaf <paramref name="leaf"/>, subleaf <paramref name="sub"/>.</summary>
    public static (uint Eax, uint Ebx, uint Ecx, uint Edx) Query(uint leaf, uint sub, uint apicId)
    {
        _ = sub;
        return leaf switch
        {
            0 => (7, Word(Vendor, 0), Word(Vendor, 2), Word(Vendor, 1)),
            1 => (0x0000_0663, (apicId << 24) | (1u << 16) | (8u << 8), Leaf1Ecx, Leaf1Edx),
            0x8000_0000 => (0x8000_0008, Word(Vendor, 0), Word(Vendor, 2), Word(Vendor, 1)),
            0x8000_0001 => (0, 0, Ext1Ecx, Ext1Edx),
            >= 0x8000_0002 and <= 0x8000_0004 => BrandLeaf((int)(leaf - 0x8000_0002)),
            0x8000_0008 => (0x3028, 0, 0, 0),
            _ => (0, 0, 0, 0),
        };
    }

    private static (uint, uint, uint, uint) BrandLeaf(int i)
    {
        int o = i * 16;
        return (BitConverter.ToUInt32(Brand, o), BitConverter.ToUInt32(Brand, o + 4), BitConverter.ToUInt32(Brand, o + 8), BitConverter.ToUInt32(Brand, o + 12));
    }
}
