namespace Cluster.Vmm.Migration;

/// <summary>What a migration source achieved.</summary>
public sealed record MigrationResult
{
    /// <summary>Whether the VM now runs on the target (and not on the source), with every page there.</summary>
    public bool Succeeded { get; init; }

    /// <summary>Why it failed; null on success. On failure the VM runs on the source, unless <see cref="OwnershipMoved"/>.</summary>
    public string? FailureReason { get; init; }

    /// <summary>From the call to the target's Resumed, or to PostCopyDone for post-copy (or to the failure).</summary>
    public TimeSpan TotalTime { get; init; }

    /// <summary>From pausing the source's vCPUs to the target's Resumed acknowledgment (an upper bound of
    /// the guest's pause); zero when the source never paused.</summary>
    public TimeSpan Downtime { get; init; }

    /// <summary>Bytes sent on all connections, frame headers included.</summary>
    public long WireBytes { get; init; }

    /// <summary>Dirty rounds after the bulk round 0, the stop-and-copy round included.</summary>
    public int Rounds { get; init; }

    /// <summary>Page records sent, of any form.</summary>
    public long PagesSent { get; init; }

    /// <summary>Page records sent as zero markers.</summary>
    public long ZeroPages { get; init; }

    /// <summary>Page records sent as XBZRLE deltas.</summary>
    public long DeltaPages { get; init; }

    /// <summary>Pages sent in the stop-and-copy round.</summary>
    public long FinalPages { get; init; }

    /// <summary>The highest vCPU throttle used.</summary>
    public int MaxThrottlePercent { get; init; }

    /// <summary>How it converged: <see cref="MigrationMode.PreCopy"/>, <see cref="MigrationMode.AutoConverge"/>
    /// (throttled) or <see cref="MigrationMode.PostCopy"/>; the mode chosen so far on failure.</summary>
    public MigrationMode ModeUsed { get; init; }

    /// <summary>Pages the target lacked when it started running (post-copy).</summary>
    public long PostCopyPages { get; init; }

    /// <summary>Pages the target asked for because a vCPU or the VMM waited for them (post-copy).</summary>
    public long PagesFetchedOnDemand { get; init; }

    /// <summary>Whether ownership moved (the commit ran): then the source never resumes, even on failure. A
    /// post-copy failure after the commit leaves the VM stopped on both sides.</summary>
    public bool OwnershipMoved { get; init; }

    /// <summary>Part of <see cref="Downtime"/>: from the pause to the target's Ready (the last pages and the state sent and
    /// loaded); zero when the target never got ready.</summary>
    public TimeSpan ReadyAfter { get; init; }

    /// <summary>Part of <see cref="Downtime"/>: the time spent in the commit callback (<see cref="MigrationOptions.Commit"/>).</summary>
    public TimeSpan CommitTime { get; init; }

    /// <summary>Part of <see cref="Downtime"/>: from the source's Resume to the target's Resumed (the target's vCPUs let run);
    /// zero when the target never confirmed.</summary>
    public TimeSpan ResumeTime { get; init; }
}
