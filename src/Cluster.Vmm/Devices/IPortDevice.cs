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

/// <summary>A device on the MMIO bus. Offsets are relative to the start of its range.
/// Called on vCPU threads, possibly several at once: implementations synchronise themselves.</summary>
public interface IMmioDevice
{
    /// <summary>A read of <paramref name="size"/> bytes (1, 2, 4 or 8) at <paramref name="offset"/>.</summary>
    ulong Read(ulong offset, int size);

    /// <summary>A write of <paramref name="size"/> bytes (1, 2, 4 or 8) at <paramref name="offset"/>.</summary>
    void Write(ulong offset, int size, ulong value);
}

/// <summary>A device whose state travels with the VM (snapshots, live migration).</summary>
public interface IStatefulDevice
{
    /// <summary>The key of this device's blob in a machine snapshot ("uart0", "exit").</summary>
    string StateKey { get; }

    /// <summary>Captures the device's state as a versioned blob.</summary>
    byte[] SaveState();

    /// <summary>Loads a blob captured by <see cref="SaveState"/>.</summary>
    /// <exception cref="VmmException">the blob is malformed or of another version.</exception>
    void RestoreState(ReadOnlySpan<byte> state);
}
