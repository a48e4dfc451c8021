using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Kvm.Interop;

namespace Cluster.Vmm.Kvm;

/// <summary>Names the vendor and the main feature bits of a CPUID table, for <see cref="CpuModel"/>.</summary>
internal static class CpuidNames
{
    private static readonly (uint Leaf, char Reg, int Bit, string Name)[] Features =
    [
        (1, 'd', 0, "fpu"), (1, 'd', 4, "tsc"), (1, 'd', 5, "msr"), (1, 'd', 6, "pae"), (1, 'd', 8, "cx8"),
        (1, 'd', 9, "apic"), (1, 'd', 15, "cmov"), (1, 'd', 23, "mmx"), (1, 'd', 24, "fxsr"), (1, 'd', 25, "sse"),
        (1, 'd', 26, "sse2"), (1, 'c', 0, "sse3"), (1, 'c', 9, "ssse3"), (1, 'c', 13, "cx16"), (1, 'c', 19, "sse4_1"),
        (1, 'c', 20, "sse4_2"), (1, 'c', 22, "movbe"), (1, 'c', 23, "popcnt"), (1, 'c', 25, "aes"), (1, 'c', 26, "xsave"),
        (1, 'c', 28, "avx"), (1, 'c', 30, "rdrand"), (1, 'c', 31, "hypervisor"), (7, 'b', 3, "bmi1"), (7, 'b', 5, "avx2"),
        (7, 'b', 8, "bmi2"), (7, 'b', 9, "erms"), (0x80000001, 'd', 20, "nx"), (0x80000001, 'd', 27, "rdtscp"),
        (0x80000001, 'd', 29, "lm"), (0x80000001, 'c', 0, "lahf_lm"), (0x80000001, 'c', 2, "svm"),
    ];

    public static CpuModel Describe(IReadOnlyList<kvm_cpuid_entry2> entries)
    {
        var leaf0 = Find(entries, 0);
        string vendor = leaf0 is { } l
            ? string.Concat(Ascii(l.ebx), Ascii(l.edx), Ascii(l.ecx))
            : "unknown";
        var names = new List<string>();
        foreach (var (leaf, reg, bit, name) in Features)
        {
            if (Find(entries, leaf) is not { } e) continue;
            uint value = reg switch { 'b' => e.ebx, 'c' => e.ecx, _ => e.edx };
            if ((value & (1u << bit)) != 0) names.Add(name);
        }
        return new CpuModel(vendor, names);
    }

    private static kvm_cpuid_entry2? Find(IReadOnlyList<kvm_cpuid_entry2> entries, uint leaf)
    {
        foreach (var e in entries)
            if (e.function == leaf && e.index == 0) return e;
        return null;
    }

    private static string Ascii(uint v) =>
        new([(char)(v & 0xff), (char)((v >> 8) & 0xff), (char)((v >> 16) & 0xff), (char)(v >> 24)]);
}
