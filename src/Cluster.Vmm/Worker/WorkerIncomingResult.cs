namespace Cluster.Vmm.Worker;

/// <summary>What an incoming migration achieved (<see cref="Migration.MigrationTargetResult"/> as data).</summary>
public sealed record WorkerIncomingResult
{
    /// <summary>Whether the VM runs in this worker now.</summary>
    public bool Succeeded { get; init; }
    /// <summary>Why not; null on success.</summary>
    public string? FailureReason { get; init; }
    /// <summary>Bytes received on all connections.</summary>
    public long BytesReceived { get; init; }
    /// <summary>Page records applied.</summary>
    public long PagesReceived { get; init; }
    /// <summary>From the snapshot's arrival to the vCPUs resuming.</summary>
    public TimeSpan RestoreTime { get; init; }
    /// <summary>Pages missing when the VM started running here (post-copy).</summary>
    public long PostCopyPages { get; init; }
    /// <summary>Pages fetched on demand (post-copy).</summary>
    public long PagesRequested { get; init; }
}
