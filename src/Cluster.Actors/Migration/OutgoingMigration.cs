using System.Net;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Vms;
using Cluster.Vmm.Migration;

namespace Cluster.Actors.Migration;

/// <summary>
/// The source side's record of one migration of a VM (owned by its VM actor, touched only on the actor's
/// thread): where it goes, how far it got, and its <see cref="MigrationInfo"/> for the control plane.
/// </summary>
public sealed class OutgoingMigration
{
    public OutgoingMigration(string migrationId, VmSpec spec, string source, string target, MigrationLimits limits, MigrationCause cause,
        DateTime now)
    {
        MigrationId = migrationId;
        Spec = spec;
        Source = source;
        Target = target;
        Limits = limits;
        Info = new MigrationInfo(spec.Id, migrationId, source, target, MigrationState.Preparing, limits.Strategy, 0, spec.MemoryBytes,
            (long)spec.MemoryBytes, 0, 0, -1, 0, now, null, null, null, 0, null, cause);
    }

    public string MigrationId { get; }

    public VmSpec Spec { get; }

    public string Source { get; }

    public string Target { get; }

    public MigrationLimits Limits { get; }

    /// <summary>Cancels the page stream (a cancellation or the actor's stop).</summary>
    public CancellationTokenSource Cancellation { get; } = new();

    /// <summary>Completed when the page stream no longer uses the source machine (it may be freed then).</summary>
    public TaskCompletionSource MachineReturned { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>An operator asked to cancel it.</summary>
    public bool CancelRequested { get; set; }

    /// <summary>The target's receiver answered ready (it must be told if the migration is abandoned).</summary>
    public bool Prepared { get; set; }

    /// <summary>Where the target listens for the page stream, once prepared.</summary>
    public IPEndPoint? Endpoint { get; set; }

    /// <summary>The page stream runs.</summary>
    public bool Streaming { get; set; }

    /// <summary>Ownership moved (VmMigrated is written).</summary>
    public bool Committed { get; set; }

    /// <summary>The commit callback waiting for the ownership write, while it is in progress.</summary>
    public TaskCompletionSource? PendingCommit { get; set; }

    /// <summary>The latest view of it.</summary>
    public MigrationInfo Info { get; private set; }

    /// <summary>Folds a progress report in; true when the state changed (worth publishing).</summary>
    public bool Update(MigrationProgress p)
    {
        var state = p.Phase switch
        {
            MigrationPhase.Handshake => MigrationState.Preparing,
            MigrationPhase.PreCopy => MigrationState.PreCopy,
            MigrationPhase.StopAndCopy => MigrationState.StopAndCopy,
            MigrationPhase.Commit => MigrationState.Committing,
            MigrationPhase.PostCopy => MigrationState.PostCopy,
            _ => Info.State,
        };
        var changed = state != Info.State;
        Info = Info with
        {
            State = state,
            Round = p.Round,
            RemainingBytes = p.RemainingDirtyBytes,
            TransferBytesPerSecond = p.TransferRate,
            DirtyBytesPerSecond = p.DirtyRate,
            EtaMs = p.TransferRate > 0 ? (long)p.Eta.TotalMilliseconds : -1,
            ThrottlePercent = p.ThrottlePercent,
            WireBytes = p.WireBytes,
        };
        return changed;
    }

    /// <summary>Marks it completed with the figures of <paramref name="result"/>.</summary>
    public void Completed(MigrationResult result, DateTime now) => Info = Info with
    {
        State = MigrationState.Completed, FinishedAt = now, DowntimeMs = result.Downtime.TotalMilliseconds,
        TotalMs = (now - Info.StartedAt).TotalMilliseconds, WireBytes = result.WireBytes, RemainingBytes = 0, EtaMs = 0,
        Round = result.Rounds, ThrottlePercent = result.MaxThrottlePercent,
    };

    /// <summary>Marks it failed (or cancelled) for <paramref name="reason"/>.</summary>
    public void Failed(string reason, bool cancelled, DateTime now) => Info = Info with
    {
        State = cancelled ? MigrationState.Cancelled : MigrationState.Failed, FinishedAt = now, FailureReason = reason,
        TotalMs = (now - Info.StartedAt).TotalMilliseconds, EtaMs = -1,
    };

    /// <summary>The VMM's options for these limits; the commit callback is given by the caller.</summary>
    public MigrationOptions Options(TimeSpan ioTimeout, Func<CancellationToken, Task> commit) => new()
    {
        DowntimeLimit = TimeSpan.FromMilliseconds(Limits.DowntimeMs),
        MaxBandwidth = Limits.BandwidthBytesPerSecond,
        Connections = Limits.Connections,
        Mode = Limits.Strategy switch
        {
            MigrationStrategy.PreCopy => MigrationMode.AutoConverge,
            MigrationStrategy.PostCopy => MigrationMode.PostCopy,
            _ => MigrationMode.Auto,
        },
        AllowPostCopy = Limits.Strategy != MigrationStrategy.PreCopy,
        IoTimeout = ioTimeout,
        Commit = commit,
        DisposeSourceOnSuccess = false,
    };
}
