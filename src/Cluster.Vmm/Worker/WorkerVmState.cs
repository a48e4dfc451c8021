namespace Cluster.Vmm.Worker;

/// <summary>What a worker's VM is doing. Values are part of the wire format.</summary>
public enum WorkerVmState
{
    /// <summary>No VM yet: an idle (warm-pool) worker waiting for Create or ListenIncoming.</summary>
    Empty = 0,
    /// <summary>Waiting for or receiving an incoming migration.</summary>
    Incoming = 1,
    /// <summary>Created, not started.</summary>
    Created = 2,
    /// <summary>vCPUs running.</summary>
    Running = 3,
    /// <summary>vCPUs paused (by a request, or because the run permit lapsed).</summary>
    Paused = 4,
    /// <summary>The machine ended; <see cref="WorkerInfo.Exit"/> says why.</summary>
    Finished = 5,
    /// <summary>The VM was migrated to another worker: it runs there, not here.</summary>
    MigratedAway = 6,
}
