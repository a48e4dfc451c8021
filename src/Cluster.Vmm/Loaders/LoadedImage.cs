namespace Cluster.Vmm.Loaders;

/// <summary>A guest image placed in guest memory: its entry point and the range it occupies.</summary>
/// <param name="Entry">Guest-physical address of the first instruction.</param>
/// <param name="Start">Lowest guest-physical address written (or zeroed) by the loader.</param>
/// <param name="End">One past the highest such address.</param>
public sealed record LoadedImage(ulong Entry, ulong Start, ulong End);
