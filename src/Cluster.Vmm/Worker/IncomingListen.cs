namespace Cluster.Vmm.Worker;

/// <summary>
/// An incoming migration a worker waits for (<see cref="WorkerClient.ListenIncoming"/>): the port it
/// listens on, and tasks that complete when the VM runs in the worker and when the migration is over.
/// </summary>
public sealed class IncomingListen
{
    private readonly TaskCompletionSource _resumed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<WorkerIncomingResult> _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal IncomingListen(uint requestId) => RequestId = requestId;

    internal uint RequestId { get; }

    /// <summary>
    /// Asked when the worker's commit outcome is unknown (it sent Ready; the source's Resume did not come, nor an Abort):
    /// whether the migration committed. The machine stays paused until the answer: true resumes it, false (or a failure) frees it.
    /// Null: answered false. Set it right after <see cref="WorkerClient.ListenIncoming"/>: it is asked after Ready at the earliest.
    /// </summary>
    public Func<Task<bool>>? ResolveCommit { get; set; }

    /// <summary>The TCP port the worker listens on for the source.</summary>
    public int Port { get; internal set; }

    /// <summary>What the source needs to connect (the worker's one-time token and certificate pin); hand it over the control plane only.</summary>
    public Migration.MigrationCredentials Credentials { get; internal set; } = null!;

    /// <summary>Completes when the VM runs in the worker; fails (with <see cref="VmmException"/>) when the
    /// migration ends without it or the worker is gone.</summary>
    public Task Resumed => _resumed.Task;

    /// <summary>Completes with the outcome; fails with <see cref="VmmException"/> when the worker is gone.</summary>
    public Task<WorkerIncomingResult> Finished => _finished.Task;

    internal void OnResumed() => _resumed.TrySetResult();

    internal void OnFinished(WorkerIncomingResult result)
    {
        if (!result.Succeeded) _resumed.TrySetException(new VmmException($"the incoming migration failed: {result.FailureReason}", "worker-incoming"));
        _resumed.TrySetResult();
        _finished.TrySetResult(result);
    }

    internal void OnGone(VmmException e)
    {
        _resumed.TrySetException(e);
        _finished.TrySetException(e);
    }
}
