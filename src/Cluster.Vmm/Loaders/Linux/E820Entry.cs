namespace Cluster.Vmm.Loaders.Linux;

/// <summary>The kinds of BIOS e820 memory map entries that the loader reports.</summary>
public enum E820Type : uint
{
    Ram = 1,
    Reserved = 2,
}

/// <summary>One entry of the e820 memory map given to the kernel in boot_params.</summary>
public readonly record struct E820Entry(ulong Address, ulong Size, E820Type Type);
