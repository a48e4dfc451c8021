namespace Cluster.Vmm.Devices;

/// <summary>A device of a machine, known to its <see cref="DeviceManager"/> by a name that is
/// unique within the machine ("uart0", "exit", "pci-host", "virtio-blk0"). What else a device can do
/// it says by the capability interfaces it implements: <see cref="ISnapshottable"/>,
/// <see cref="IPausable"/>, <see cref="IDmaDevice"/>, <see cref="IDeviceCounters"/>.</summary>
public interface IDevice
{
    /// <summary>The device's name within its machine; also the name of its state section.</summary>
    string Name { get; }
}

/// <summary>A device whose state travels with the VM (snapshots, live migration) as one named,
/// versioned section (see <see cref="DeviceSection"/>).</summary>
public interface ISnapshottable : IDevice
{
    /// <summary>The version of the layout <see cref="SaveState"/> writes; a section of any other
    /// version is refused before <see cref="RestoreState"/> sees it.</summary>
    int StateVersion { get; }

    /// <summary>Captures the device's state. Called with the machine paused (and the device drained).</summary>
    byte[] SaveState();

    /// <summary>Loads state captured by <see cref="SaveState"/> at the same <see cref="StateVersion"/>,
    /// into a device of a machine that has not run yet.</summary>
    /// <exception cref="VmmException">the state is malformed or does not fit this device.</exception>
    void RestoreState(ReadOnlySpan<byte> state);
}

/// <summary>A device with work of its own outside vCPU exits (back-end I/O threads): pausing
/// drains it.</summary>
public interface IPausable : IDevice
{
    /// <summary>Stops taking new work from the guest and returns once every request in flight has
    /// completed and its results are in guest memory (so that a dirty log read afterwards covers them).
    /// Notifications that arrive while paused are kept and served on <see cref="Resume"/>.</summary>
    void Pause();

    /// <summary>Serves the guest again, starting with whatever it queued while the device was paused.</summary>
    void Resume();
}

/// <summary>A device that writes guest memory by itself (DMA). Every such write goes through
/// <see cref="Memory.GuestMemory.Write"/>, which marks the pages in the VMM's dirty log (KVM does not
/// see device writes), so live migration carries them.</summary>
public interface IDmaDevice : IDevice
{
    /// <summary>Bytes the device has written into guest memory so far.</summary>
    long DmaBytesWritten { get; }
}

/// <summary>A device that keeps counters (requests, bytes, errors), for the VMM's stats.</summary>
public interface IDeviceCounters : IDevice
{
    /// <summary>The counters now, by name.</summary>
    IReadOnlyDictionary<string, long> Counters { get; }
}
