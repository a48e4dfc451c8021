namespace Cluster.Actors.Migration;

/// <summary>
/// The one commit wait of an outgoing page stream, shared by the stream's commit callback (<see cref="MigrationRun"/>) and the
/// vCPU supervisor that started it, so that a supervisor stopping at any moment still knows of a wait its
/// <see cref="RunCommitRequested"/> never reached: a stop is a system message, handled before the ordinary messages already in
/// the supervisor's mailbox, and a wait that nobody answers would hold the stream (and the guest's memory) for ever.
/// Either the callback opens the slot before the supervisor closes it (the supervisor then resolves the wait from the
/// journal), or it finds the slot closed and resolves the wait from the journal itself.
/// </summary>
public sealed class CommitSlot
{
    private readonly object _gate = new();
    private (string MigrationId, TaskCompletionSource Written)? _pending;
    private bool _closed;

    /// <summary>Records the stream's wait for <paramref name="migrationId"/>; false when the supervisor has stopped already.</summary>
    public bool TryOpen(string migrationId, TaskCompletionSource written)
    {
        lock (_gate)
        {
            if (_closed)
                return false;
            _pending = (migrationId, written);
            return true;
        }
    }

    /// <summary>Closes the slot (the supervisor stops) and returns the wait recorded in it, if it is still unanswered.</summary>
    public (string MigrationId, TaskCompletionSource Written)? Close()
    {
        lock (_gate)
        {
            _closed = true;
            return _pending is { } p && !p.Written.Task.IsCompleted ? p : null;
        }
    }
}
