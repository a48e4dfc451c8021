using Cluster.Contracts.Migration;
using Cluster.Vmm.Migration;

namespace Cluster.Actors.Migration;

/// <summary>
/// From a <see cref="MigrationSourceActor"/> to the vCPU supervisor of its VM: stream the guest to the target prepared at <paramref name="Address"/>:<paramref name="Port"/>,
/// which announced <paramref name="Credentials"/> (local message: it never leaves the node).
/// The supervisor reports <see cref="MigrationProgressed"/>, <see cref="CommitRequested"/> and <see cref="MigrationEnded"/> to the sender.
/// </summary>
public sealed record MigrateGuestOut(string MigrationId, string Address, int Port, MigrationCredentials Credentials, MigrationLimits Limits);

/// <summary>From a <see cref="MigrationSourceActor"/> to the vCPU supervisor: cancel the running page stream (before its commit).</summary>
public sealed class CancelGuestMigration
{
    public static CancelGuestMigration Instance { get; } = new();

    private CancelGuestMigration()
    {
    }
}

/// <summary>From a vCPU supervisor to the <see cref="MigrationSourceActor"/> that asked: a progress report of the page stream.</summary>
public sealed record MigrationProgressed(string MigrationId, MigrationProgress Progress);

/// <summary>
/// From the page stream of a vCPU supervisor (<see cref="MigrationRun"/>) to the <see cref="MigrationSourceActor"/> that asked: the target is
/// ready; have the ownership persisted (the VM actor then tells the supervisor <see cref="CommitWritten"/>: the target may resume), or
/// answer <see cref="CommitRefused"/> (the guest resumes here).
/// </summary>
public sealed record CommitRequested(string MigrationId);

/// <summary>From the VM actor, in the callback of its commit's persist, to the vCPU supervisor: the ownership moved (VmMigrated is in the journal).</summary>
public sealed record CommitWritten(string MigrationId);

/// <summary>From a <see cref="MigrationSourceActor"/> to the vCPU supervisor: the migration must not commit (cancelled); the guest stays here.</summary>
public sealed record CommitRefused(string MigrationId, string Reason);

/// <summary>
/// From a vCPU supervisor (and its page stream) to the <see cref="MigrationSourceActor"/> that asked: the page stream ended.
/// <paramref name="CommitWaited"/>: how long the VMM's commit callback waited on this node, the guest paused (zero without a commit).
/// </summary>
public sealed record MigrationEnded(string MigrationId, MigrationResult Result, TimeSpan CommitWaited = default);

/// <summary>To a vCPU supervisor, from its page stream's thread: the commit callback waits on <paramref name="Written"/> (stays in the supervisor).</summary>
internal sealed record RunCommitRequested(string MigrationId, TaskCompletionSource Written);

/// <summary>
/// To a vCPU supervisor, from its page stream's thread: the commit asked for <paramref name="MigrationId"/> was not answered
/// within the step timeout; its outcome is unknown, and the supervisor learns it from the journal (<see cref="CommitResolver"/>).
/// </summary>
internal sealed record CommitOutcomeUnknown(string MigrationId);

/// <summary>To a vCPU supervisor, from its <see cref="CommitResolver"/>: what the journal says of the commit of <paramref name="MigrationId"/>.</summary>
internal sealed record CommitResolved(string MigrationId, bool Committed);
