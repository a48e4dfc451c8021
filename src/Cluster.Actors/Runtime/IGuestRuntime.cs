namespace Cluster.Actors.Runtime;

/// <summary>
/// One booted guest as the actors see it: start, pause, resume and stop its vCPUs, the serial
/// port's bytes both ways, and the one exit it reports. Events are raised on VMM threads
/// (vCPU threads); subscribers must only post messages from them.
/// </summary>
public interface IGuestRuntime : IDisposable
{
    /// <summary>Raised once when the guest ends on its own or is stopped.</summary>
    event Action<GuestExit>? Exited;

    /// <summary>Raised with each chunk of bytes the guest writes to its serial port.</summary>
    event Action<byte[]>? SerialOutput;

    /// <summary>Starts the vCPU threads.</summary>
    void Start();

    /// <summary>Pauses every vCPU at an instruction boundary; returns when they are paused.</summary>
    void Pause();

    /// <summary>Resumes paused vCPUs.</summary>
    void Resume();

    /// <summary>Stops the vCPUs; returns when their threads have finished.</summary>
    void Stop();

    /// <summary>Captures vCPU, VM-wide and device state (not memory) of a paused guest.</summary>
    /// <exception cref="Cluster.Vmm.VmmException">the guest is not paused, or this runtime cannot capture state.</exception>
    Cluster.Vmm.Machine.MachineSnapshot SaveState();

    /// <summary>Guest CPU time consumed by all vCPUs so far (the host's load accounting reads it from other threads).</summary>
    TimeSpan GuestTime { get; }

    /// <summary>Feeds bytes to the guest's serial port as if typed.</summary>
    void SendSerialInput(byte[] data);
}

/// <summary>How a guest ended: <paramref name="Failed"/> for triple faults, internal errors and non-zero exit statuses.</summary>
public sealed record GuestExit(bool Failed, string Reason);

/// <summary>Creates guests from specs; the node picks the implementation (the VMM's Machine).</summary>
public interface IGuestRuntimeFactory
{
    /// <summary>Names of the built-in guest images this factory can boot.</summary>
    IReadOnlySet<string> BuiltInImages { get; }

    /// <summary>The most vCPUs one guest may have on this backend.</summary>
    int MaxVcpus { get; }

    /// <summary>Creates and loads a guest (not started).</summary>
    /// <exception cref="Cluster.Vmm.VmmException">the image cannot be loaded or the VM created.</exception>
    IGuestRuntime Create(Cluster.Contracts.Vms.VmSpec spec);
}
