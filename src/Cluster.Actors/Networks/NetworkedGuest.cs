using System.Net;
using Cluster.Actors.Runtime;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;

namespace Cluster.Actors.Networks;

/// <summary>
/// A guest with NICs created on this host, wrapped so that its taps go when it ends here: disposed after it stopped or
/// migrated away, its taps (and their anti-spoofing entries) are removed (<see cref="HostNetworking.Release"/>). A guest
/// let go because the node shuts down (<see cref="Detach"/>) keeps them when it runs on in its worker. Everything else is
/// the inner guest's.
/// </summary>
internal sealed class NetworkedGuest(IGuestRuntime inner, HostNetworking host, string vmId) : IGuestRuntime
{
    private int _released;

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

    public (TimeSpan Time, DateTime At) GuestTimeRead => inner.GuestTimeRead;

    public GuestAccounting? Accounting => inner.Accounting;

    public Cluster.Vmm.Devices.IoCounters? Io => inner.Io;

    public void Start() => inner.Start();

    public void Pause() => inner.Pause();

    public void Resume() => inner.Resume();

    public void Stop() => inner.Stop();

    public MachineSnapshot SaveState() => inner.SaveState();

    public void SendSerialInput(byte[] data) => inner.SendSerialInput(data);

    public Task<MigrationResult> MigrateOutAsync(IPEndPoint target, MigrationCredentials credentials, MigrationOptions options,
        IProgress<MigrationProgress> progress, CancellationToken ct) => inner.MigrateOutAsync(target, credentials, options, progress, ct);

    public bool Detach()
    {
        var runsOn = inner.Detach();
        if (!runsOn)
            Release();
        return runsOn;
    }

    public void Dispose()
    {
        inner.Dispose();
        Release();
    }

    private void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
            host.Release(vmId);
    }
}
