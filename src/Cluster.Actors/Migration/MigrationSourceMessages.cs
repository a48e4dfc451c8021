using Cluster.Contracts.Events;
using Cluster.Contracts.Migration;

namespace Cluster.Actors.Migration;

/// <summary>
/// From a <see cref="MigrationSourceActor"/> to its VM actor: the target is ready and the console history is on its
/// way there; persist the commit point (VmMigrated, the next epoch on the target) and answer
/// <see cref="MigrationCommitPersisted"/>. The VM actor releases its vCPU supervisor in the same step.
/// </summary>
public sealed record PersistMigrationCommit(string MigrationId, string Source, string Target);

/// <summary>
/// From a VM actor to its <see cref="MigrationSourceActor"/>: VmMigrated is in the journal (the target may resume);
/// <paramref name="JournalWrite"/>: from the persist call to its callback.
/// </summary>
public sealed record MigrationCommitPersisted(string MigrationId, TimeSpan JournalWrite = default);

/// <summary>
/// From a <see cref="MigrationSourceActor"/> to its VM actor: the migration committed and its page stream ended; persist
/// <paramref name="Event"/>, publish <paramref name="Info"/> and the move, and wait for the shard hand-off.
/// </summary>
public sealed record OutgoingMigrationCompleted(VmMigrationCompleted Event, MigrationInfo Info);

/// <summary>
/// From a <see cref="MigrationSourceActor"/> to its VM actor, before any commit: the migration was abandoned (the target
/// was told, the reservation ended, <paramref name="Info"/> published); persist <paramref name="Event"/> and run on here.
/// </summary>
public sealed record OutgoingMigrationFailed(VmMigrationFailed Event, MigrationInfo Info);

/// <summary>To a <see cref="MigrationSourceActor"/>, from itself: the scheduler did not answer the reservation.</summary>
internal sealed record ReservationFailed(string Reason);

/// <summary>To a <see cref="MigrationSourceActor"/>, from its timer: the target's receiver did not answer in time.</summary>
internal sealed class PrepareTimedOut
{
    public static PrepareTimedOut Instance { get; } = new();

    private PrepareTimedOut()
    {
    }
}

/// <summary>To a <see cref="MigrationSourceActor"/>, from itself: the console history could not be read.</summary>
internal sealed record ConsoleHistoryFailed(string Reason);
