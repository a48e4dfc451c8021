namespace Cluster.Vmm.Migration;

/// <summary>Where a migration is.</summary>
public enum MigrationPhase
{
    /// <summary>Hello sent, waiting for the target.</summary>
    Handshake,
    /// <summary>Pre-copy rounds while the VM runs.</summary>
    PreCopy,
    /// <summary>The vCPUs are paused; the last pages and the state are on their way.</summary>
    StopAndCopy,
    /// <summary>The target is ready; the commit callback runs.</summary>
    Commit,
    /// <summary>The VM runs on the target.</summary>
    Completed,
    /// <summary>The migration failed; the VM runs on the source (unless ownership had moved: post-copy).</summary>
    Failed,
    /// <summary>Post-copy: the VM runs on the target, which still lacks <see cref="MigrationProgress.PagesRemaining"/> pages.</summary>
    PostCopy,
}

/// <summary>A progress report of a migration source: at each phase change, as the bulk round 0 starts
/// (everything remaining) and after each pre-copy round.</summary>
/// <param name="Phase">The phase.</param>
/// <param name="Round">The round just finished (0: the bulk round).</param>
/// <param name="PagesSent">Page records sent so far (any form).</param>
/// <param name="WireBytes">Bytes sent on all connections so far.</param>
/// <param name="RemainingDirtyBytes">Bytes of pages dirty and not yet re-sent.</param>
/// <param name="TransferRate">Bytes per second of guest memory (uncompressed) moved in the last round.</param>
/// <param name="DirtyRate">Bytes per second the guest dirtied during the last round.</param>
/// <param name="Eta">Expected time to finish the remaining pages at the transfer rate.</param>
/// <param name="ThrottlePercent">The vCPU throttle in force.</param>
public sealed record MigrationProgress(
    MigrationPhase Phase, int Round, long PagesSent, long WireBytes, long RemainingDirtyBytes,
    double TransferRate, double DirtyRate, TimeSpan Eta, int ThrottlePercent)
{
    /// <summary>In <see cref="MigrationPhase.PostCopy"/>: pages not yet sent to the target.</summary>
    public long PagesRemaining { get; init; }
}
