namespace Cluster.Vmm.Devices;

/// <summary>A device on the port-I/O bus. Offsets are relative to the first port of its range.
/// Called on vCPU threads, possibly several at once: implementations synchronise themselves.</summary>
public interface IPortDevice
{
    /// <summary>An IN of <paramref name="size"/> bytes (1, 2 or 4) at <paramref name="offset"/>.</summary>
    ulong Read(ushort offset, int size);

    /// <summary>An OUT of <paramref name="size"/> bytes (1, 2 or 4) at <paramref name="offset"/>.</summary>
    void Write(ushort offset, int size, ulong value);
}
