namespace Cluster.Vmm.Devices;

/// <summary>A device on the MMIO bus. Offsets are relative to the start of its range.
/// Called on vCPU threads, possibly several at once: implementations synchronise themselves.</summary>
public interface IMmioDevice
{
    /// <summary>A read of <paramref name="size"/> bytes (1, 2, 4 or 8) at <paramref name="offset"/>.</summary>
    ulong Read(ulong offset, int size);

    /// <summary>A write of <paramref name="size"/> bytes (1, 2, 4 or 8) at <paramref name="offset"/>.</summary>
    void Write(ulong offset, int size, ulong value);
}
