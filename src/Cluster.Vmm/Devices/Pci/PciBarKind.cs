namespace Cluster.Vmm.Devices.Pci;

/// <summary>What a base address register decodes.</summary>
public enum PciBarKind
{
    /// <summary>A 32-bit memory BAR.</summary>
    Memory32,

    /// <summary>A 64-bit memory BAR (it takes two BAR slots).</summary>
    Memory64,
}

/// <summary>One base address register of a function: its index, size (a power of two of at least
/// 4 KiB, so that it fills whole pages) and kind. The address lives in the config space.</summary>
public sealed record PciBar(int Index, ulong Size, PciBarKind Kind, bool Prefetchable = false);
