using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Cluster.Actors.Runtime;
using Cluster.Actors.Runtime.Workers;
using Cluster.Contracts.Vms;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;

namespace LifecycleBench;

/// <summary>When one guest went through the factory (<see cref="Stopwatch"/> timestamps; 0 when not yet).</summary>
public sealed class GuestPhases
{
    public long FactoryEntered;
    public long CreateReturned;
    public long StartCalled;
    public long StartReturned;
    public WorkerCreateTiming? Worker;
    public string? Exit;
}

/// <summary>The worker factory, timed: when the VM actor asked for the guest, when Create and Start returned.</summary>
public sealed class TimedFactory(WorkerGuestRuntimeFactory inner) : IGuestRuntimeFactory
{
    private int _started;

    public ConcurrentDictionary<string, GuestPhases> Phases { get; } = new(StringComparer.Ordinal);

    public WorkerGuestRuntimeFactory Inner => inner;

    /// <summary>Guests whose Start returned so far.</summary>
    public int Started => Volatile.Read(ref _started);

    /// <summary>Raised with the VM id after a guest's Start returned.</summary>
    public event Action<string>? GuestStarted;

    public IReadOnlySet<string> BuiltInImages => inner.BuiltInImages;

    public int MaxVcpus => inner.MaxVcpus;

    public IGuestRuntime Create(VmSpec spec) => Create(spec, 0);

    public IGuestRuntime Create(VmSpec spec, long epoch)
    {
        var phases = Phases.GetOrAdd(spec.Id, _ => new GuestPhases());
        phases.FactoryEntered = Stopwatch.GetTimestamp();
        var guest = inner.Create(spec, epoch);
        phases.CreateReturned = Stopwatch.GetTimestamp();
        guest.Exited += e => phases.Exit = $"{(e.Failed ? "failed" : "ended")}: {e.Reason}";
        return new TimedGuest(guest, () => phases.StartCalled = Stopwatch.GetTimestamp(), () =>
        {
            phases.StartReturned = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref _started);
            GuestStarted?.Invoke(spec.Id);
        });
    }

    public IncomingGuest ListenIncoming(VmSpec spec, IncomingListen listen) => inner.ListenIncoming(spec, listen);

    public ReattachedGuest? Reattach(string vmId) => inner.Reattach(vmId);

    private sealed class TimedGuest(IGuestRuntime inner, Action starting, Action started) : IGuestRuntime
    {
        public event Action<GuestExit>? Exited
        {
            add => inner.Exited += value;
            remove => inner.Exited -= value;
        }

        public event Action<byte[]>? SerialOutput
        {
            add => inner.SerialOutput += value;
            remove => inner.SerialOutput -= value;
        }

        public TimeSpan GuestTime => inner.GuestTime;

        public void Start()
        {
            starting();
            inner.Start();
            started();
        }

        public void Pause() => inner.Pause();

        public void Resume() => inner.Resume();

        public void Stop() => inner.Stop();

        public MachineSnapshot SaveState() => inner.SaveState();

        public void SendSerialInput(byte[] data) => inner.SendSerialInput(data);

        public bool Detach() => inner.Detach();

        public Task<MigrationResult> MigrateOutAsync(IPEndPoint target, MigrationCredentials credentials, MigrationOptions options,
            IProgress<MigrationProgress> progress, CancellationToken ct) => inner.MigrateOutAsync(target, credentials, options, progress, ct);

        public void Dispose() => inner.Dispose();
    }
}
