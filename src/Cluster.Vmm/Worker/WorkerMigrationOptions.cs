using Cluster.Vmm.Migration;

namespace Cluster.Vmm.Worker;

/// <summary>The tunables of an outgoing migration as data (<see cref="MigrationOptions"/> without its callbacks).</summary>
public sealed record WorkerMigrationOptions
{
    /// <summary>See <see cref="MigrationOptions.DowntimeLimit"/>.</summary>
    public TimeSpan DowntimeLimit { get; init; } = TimeSpan.FromMilliseconds(300);
    /// <summary>See <see cref="MigrationOptions.DowntimeTarget"/>.</summary>
    public TimeSpan DowntimeTarget { get; init; } = TimeSpan.FromMilliseconds(5);
    /// <summary>See <see cref="MigrationOptions.MaxBandwidth"/>; 0 for none.</summary>
    public long MaxBandwidth { get; init; }
    /// <summary>See <see cref="MigrationOptions.Connections"/>.</summary>
    public int Connections { get; init; } = 1;
    /// <summary>See <see cref="MigrationOptions.Mode"/>.</summary>
    public MigrationMode Mode { get; init; } = MigrationMode.Auto;
    /// <summary>See <see cref="MigrationOptions.AllowPostCopy"/>.</summary>
    public bool AllowPostCopy { get; init; } = true;
    /// <summary>See <see cref="MigrationOptions.IoTimeout"/> (not the wait for CommitDone: <see cref="WorkerVm.CommitAnswerWait"/>).</summary>
    public TimeSpan IoTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>See <see cref="MigrationOptions.Xbzrle"/>.</summary>
    public bool Xbzrle { get; init; } = true;

    /// <summary>The library's options, with <paramref name="commit"/> as the commit callback; the worker keeps its machine on success.</summary>
    public MigrationOptions ToMigrationOptions(Func<CancellationToken, Task>? commit) => new()
    {
        DowntimeLimit = DowntimeLimit, DowntimeTarget = DowntimeTarget, MaxBandwidth = MaxBandwidth,
        Connections = Connections, Mode = Mode, AllowPostCopy = AllowPostCopy, IoTimeout = IoTimeout,
        Xbzrle = Xbzrle, Commit = commit, DisposeSourceOnSuccess = false,
    };
}
