using Cluster.Contracts.Migration;
using Cluster.Contracts.Vms;
using Cluster.Vmm.Migration;

namespace Cluster.Actors.Migration;

/// <summary>
/// The source side's record of one migration of a VM (owned by its <see cref="MigrationSourceActor"/>, touched only on
/// that actor's thread): where it goes and its <see cref="MigrationInfo"/> for the control plane. How far the migration
/// got is the actor's behaviour, not a field here.
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
}
