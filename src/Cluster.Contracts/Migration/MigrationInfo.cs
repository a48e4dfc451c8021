using MessagePack;

namespace Cluster.Contracts.Migration;

/// <summary>Where a migration stands.</summary>
public enum MigrationState
{
    /// <summary>The target is being prepared (checks, resources, a paused VM, a data socket).</summary>
    Preparing = 0,
    /// <summary>Pre-copy rounds while the VM runs on the source.</summary>
    PreCopy = 1,
    /// <summary>The vCPUs are paused; the last pages and the state are on their way.</summary>
    StopAndCopy = 2,
    /// <summary>The target is ready; ownership is being persisted.</summary>
    Committing = 3,
    /// <summary>The VM runs on the target, which fetches its remaining pages.</summary>
    PostCopy = 4,
    /// <summary>The VM runs on the target; the source is freed.</summary>
    Completed = 5,
    /// <summary>The migration failed before the commit; the VM runs on the source.</summary>
    Failed = 6,
    /// <summary>Cancelled before the commit; the VM runs on the source.</summary>
    Cancelled = 7,
}

/// <summary>One migration as the control plane shows it.</summary>
/// <param name="VmId">The VM.</param>
/// <param name="MigrationId">Unique per attempt.</param>
/// <param name="Source">The host it leaves.</param>
/// <param name="Target">The host it goes to.</param>
/// <param name="State">Where it stands.</param>
/// <param name="Strategy">The strategy asked for.</param>
/// <param name="Round">The pre-copy round (0: the bulk round).</param>
/// <param name="MemoryBytes">The guest memory being moved.</param>
/// <param name="RemainingBytes">Bytes of pages still to send.</param>
/// <param name="TransferBytesPerSecond">Guest memory moved per second in the last round.</param>
/// <param name="DirtyBytesPerSecond">Guest memory dirtied per second in the last round.</param>
/// <param name="EtaMs">Expected milliseconds to finish (-1: unknown).</param>
/// <param name="ThrottlePercent">The vCPU throttle in force.</param>
/// <param name="StartedAt">When it started (UTC).</param>
/// <param name="FinishedAt">When it ended, or null.</param>
/// <param name="DowntimeMs">The guest's pause, once completed.</param>
/// <param name="TotalMs">Start to end, once ended.</param>
/// <param name="WireBytes">Bytes sent on the data connections.</param>
/// <param name="FailureReason">Why it failed or was cancelled, or null.</param>
/// <param name="Cause">Why it happened.</param>
[MessagePackObject]
public sealed record MigrationInfo(
    [property: Key(0)] string VmId,
    [property: Key(1)] string MigrationId,
    [property: Key(2)] string Source,
    [property: Key(3)] string Target,
    [property: Key(4)] MigrationState State,
    [property: Key(5)] MigrationStrategy Strategy,
    [property: Key(6)] int Round,
    [property: Key(7)] ulong MemoryBytes,
    [property: Key(8)] long RemainingBytes,
    [property: Key(9)] double TransferBytesPerSecond,
    [property: Key(10)] double DirtyBytesPerSecond,
    [property: Key(11)] long EtaMs,
    [property: Key(12)] int ThrottlePercent,
    [property: Key(13)] DateTime StartedAt,
    [property: Key(14)] DateTime? FinishedAt,
    [property: Key(15)] double? DowntimeMs,
    [property: Key(16)] double? TotalMs,
    [property: Key(17)] long WireBytes,
    [property: Key(18)] string? FailureReason,
    [property: Key(19)] MigrationCause Cause) : IWithVmId
{
    /// <summary>Whether it is still going.</summary>
    [IgnoreMember]
    public bool InProgress => State is not (MigrationState.Completed or MigrationState.Failed or MigrationState.Cancelled);
}
