using System.Net;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;

namespace Cluster.Actors.Runtime;

/// <summary>An <see cref="IGuestRuntime"/> over the VMM's <see cref="Machine"/>: one VM, its vCPU threads and COM1.</summary>
public sealed class MachineGuestRuntime : IGuestRuntime
{
    private readonly Machine _machine;

    public MachineGuestRuntime(Machine machine)
    {
        _machine = machine;
        _machine.Exited += exit => Exited?.Invoke(Describe(exit));
        _machine.Serial.Output += bytes => SerialOutput?.Invoke(bytes.ToArray());
    }

    /// <inheritdoc />
    public event Action<GuestExit>? Exited;

    /// <inheritdoc />
    public event Action<byte[]>? SerialOutput;

    /// <summary>The machine this runtime drives.</summary>
    public Machine Machine => _machine;

    /// <inheritdoc />
    public void Start() => _machine.Start();

    /// <inheritdoc />
    public void Pause() => _machine.Pause();

    /// <inheritdoc />
    public void Resume() => _machine.Resume();

    /// <inheritdoc />
    public void Stop() => _machine.Stop();

    /// <inheritdoc />
    public MachineSnapshot SaveState() => _machine.SaveState();

    /// <inheritdoc />
    public TimeSpan GuestTime => _machine.Vcpus.Aggregate(TimeSpan.Zero, (sum, v) => sum + v.Vcpu.GuestTime);

    /// <inheritdoc />
    public Cluster.Vmm.Devices.IoCounters? Io => _machine.Devices.IoCounters();

    /// <inheritdoc />
    public void SendSerialInput(byte[] data) => _machine.Serial.Input(data);

    /// <inheritdoc />
    public Task<MigrationResult> MigrateOutAsync(IPEndPoint target, MigrationCredentials credentials, MigrationOptions options,
        IProgress<MigrationProgress> progress, CancellationToken ct) =>
        new MigrationSource(_machine, options with { DisposeSourceOnSuccess = false }).MigrateAsync(target, credentials, progress, ct);

    /// <inheritdoc />
    public void Dispose() => _machine.Dispose();

    /// <summary>Whether a machine exit is a failure (for the restart policy) and how to say it.</summary>
    public static GuestExit Describe(MachineExit exit) => exit.Kind switch
    {
        MachineExitKind.GuestExit => new GuestExit(exit.ExitStatus != 0, exit.Reason),
        MachineExitKind.Shutdown => new GuestExit(true, $"shutdown (triple fault): {exit.Reason}"),
        MachineExitKind.InternalError => new GuestExit(true, $"internal error: {exit.Reason}"),
        MachineExitKind.Halted => new GuestExit(false, $"halted: {exit.Reason}"),
        _ => new GuestExit(false, exit.Reason),
    };
}
