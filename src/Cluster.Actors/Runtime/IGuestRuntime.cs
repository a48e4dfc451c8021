using System.Net;
using Cluster.Vmm;
using Cluster.Vmm.Migration;

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

    /// <summary>
    /// Raised when the guest's run permit lapsed (its node did not renew it in time: stalled, stopped, cut off) and the VMM
    /// paused it. The guest stays paused until <see cref="ResumeAfterLapse"/>: only the VM's owner, once it has confirmed
    /// that it still owns the VM, lets it run again. Runtimes without a permit never raise it.
    /// </summary>
    event Action? PermitLapsed
    {
        add { }
        remove { }
    }

    /// <summary>After <see cref="PermitLapsed"/>, once ownership is confirmed: renews the permit and resumes the guest unless it
    /// was paused on purpose. Nothing for runtimes without a permit.</summary>
    void ResumeAfterLapse()
    {
    }

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

    /// <summary>
    /// <see cref="GuestTime"/> with the moment it stands for: now for a guest in this process; for a guest in a worker, when
    /// its last stats arrived. The host's load divides by the time between two such moments.
    /// </summary>
    (TimeSpan Time, DateTime At) GuestTimeRead => (GuestTime, DateTime.UtcNow);

    /// <summary>
    /// The guest process's CPU time and memory from its cgroup, read now; null where the guest has none (it runs inside
    /// the node, or its worker could not be contained). The host's load accounting prefers it to <see cref="GuestTime"/>.
    /// </summary>
    GuestAccounting? Accounting => null;

    /// <summary>
    /// The guest's disk and network traffic since it started (its devices' counters, read now in this process or as of its
    /// worker's last stats); null where the runtime cannot say (a worker of protocol 4). Read by the host's agent from other threads.
    /// </summary>
    Cluster.Vmm.Devices.IoCounters? Io => null;

    /// <summary>Feeds bytes to the guest's serial port as if typed.</summary>
    void SendSerialInput(byte[] data);

    /// <summary>
    /// Lets go of the guest because the node shuts down. A guest inside the node stops with it (stopped and freed);
    /// a guest in a VMM worker that may outlive its node keeps running for the node's next incarnation to re-attach.
    /// True when the guest goes on running.
    /// </summary>
    bool Detach()
    {
        Stop();
        Dispose();
        return false;
    }

    /// <summary>
    /// Live-migrates this running guest to the target listening at <paramref name="target"/>, which announced
    /// <paramref name="credentials"/> (its token and certificate pin, see <see cref="MigrationCredentials"/>): the page stream runs
    /// where the guest's memory is (in this process, or in its VMM worker), <see cref="MigrationOptions.Commit"/> runs
    /// between the target's readiness and its resume, and progress is reported on the stream's threads. The guest is
    /// not freed on success (<see cref="MigrationOptions.DisposeSourceOnSuccess"/> is ignored): its owner stops it.
    /// </summary>
    Task<MigrationResult> MigrateOutAsync(IPEndPoint target, MigrationCredentials credentials, MigrationOptions options, IProgress<MigrationProgress> progress,
        CancellationToken ct) =>
        Task.FromException<MigrationResult>(new VmmException("this guest cannot be live-migrated", "migration-source"));
}

/// <summary>How a guest ended: <paramref name="Failed"/> for triple faults, internal errors and non-zero exit statuses.</summary>
public sealed record GuestExit(bool Failed, string Reason);
