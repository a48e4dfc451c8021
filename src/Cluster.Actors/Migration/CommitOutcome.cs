using Akka.Actor;
using Cluster.Contracts.Events;

namespace Cluster.Actors.Migration;

/// <summary>What the VM's journal says of one migration's commit.</summary>
public enum CommitOutcome
{
    /// <summary>Neither the commit nor the migration's failure is recorded (yet): whoever waits must go on waiting.</summary>
    Unknown = 0,

    /// <summary><see cref="VmMigrated"/> for the migration is in the journal: the VM belongs to the target.</summary>
    Committed,

    /// <summary><see cref="VmMigrationFailed"/> for the migration came first: the VM stays on the source.</summary>
    Aborted,
}

/// <summary>
/// The rule both sides of a migration apply when the commit's outcome is unknown to them (a commit write that answers late
/// or not at all, a Resume lost with the connection): the journal decides, and the first of <see cref="VmMigrated"/> and
/// <see cref="VmMigrationFailed"/> for the migration is the outcome. The VM actor writes one of them for every migration it
/// starts (the commit, the failure, or, when it restarts before either, the failure at recovery), and writes them in order,
/// so the first is final: a failure written after the commit (it cannot be, but a late reader must not care) changes nothing.
/// </summary>
public static class CommitOutcomes
{
    /// <summary>The outcome of <paramref name="migrationId"/> in <paramref name="events"/> (the journal's, in order).</summary>
    public static CommitOutcome Of(IEnumerable<object> events, string migrationId)
    {
        foreach (var e in events)
        {
            switch (e)
            {
                case VmMigrated m when m.MigrationId == migrationId:
                    return CommitOutcome.Committed;
                case VmMigrationFailed f when f.MigrationId == migrationId:
                    return CommitOutcome.Aborted;
            }
        }
        return CommitOutcome.Unknown;
    }

    /// <summary>
    /// Starts a <see cref="CommitResolver"/> for <paramref name="migrationId"/> of <paramref name="vmId"/> as a top-level actor of
    /// <paramref name="system"/>, on purpose not a child of the side that asks: it must outlive a VM actor (and its vCPU
    /// supervisor) stopped by the journal fault that made the outcome unknown. <paramref name="resolved"/> is called once.
    /// </summary>
    public static IActorRef Resolve(ActorSystem system, string vmId, string migrationId, TimeSpan interval, Action<bool> resolved) =>
        system.ActorOf(CommitResolver.Props(vmId, migrationId, interval, resolved));

    /// <summary>
    /// Like <see cref="Resolve"/>, for a page stream's commit wait that no supervisor answers any more: completes
    /// <paramref name="written"/> with the journal's answer (committed: done; not committed: <see cref="NotCommitted"/>).
    /// </summary>
    public static IActorRef ResolveInto(ActorSystem system, string vmId, string migrationId, TimeSpan interval, TaskCompletionSource written) =>
        Resolve(system, vmId, migrationId, interval, committed =>
        {
            if (committed)
                written.TrySetResult();
            else
                written.TrySetException(NotCommitted(migrationId));
        });

    /// <summary>What a commit wait ends with when the journal says <paramref name="migrationId"/> did not commit.</summary>
    public static OperationCanceledException NotCommitted(string migrationId) =>
        new($"the journal says migration {migrationId} did not commit");
}
