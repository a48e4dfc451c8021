using MessagePack;

namespace Cluster.Contracts.Vms;

/// <summary>The guest a VM boots: one of a closed set of image kinds.</summary>
[Union(0, typeof(BuiltInImage))]
[Union(1, typeof(ElfImage))]
[Union(2, typeof(LinuxImage))]
public abstract record GuestImageSpec : IClusterMessage
{
    /// <summary>A short human-readable description ("builtin:hello", "elf:/path").</summary>
    public abstract string Describe();
}

/// <summary>A guest compiled into the VMM, found by name (hello, counter, triple, ...).</summary>
[MessagePackObject]
public sealed record BuiltInImage([property: Key(0)] string Name) : GuestImageSpec
{
    public override string Describe() => $"builtin:{Name}";
}

/// <summary>A freestanding guest ELF file on the host.</summary>
[MessagePackObject]
public sealed record ElfImage([property: Key(0)] string Path) : GuestImageSpec
{
    public override string Describe() => $"elf:{Path}";
}

/// <summary>A Linux kernel (bzImage), an optional initramfs and the kernel command line.</summary>
[MessagePackObject]
public sealed record LinuxImage(
    [property: Key(0)] string KernelPath,
    [property: Key(1)] string? InitrdPath,
    [property: Key(2)] string CommandLine) : GuestImageSpec
{
    public override string Describe() => $"linux:{KernelPath}";
}
