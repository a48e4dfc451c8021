using System.Net;
using Akka.Actor;
using Cluster.Actors.Clustering;
using Cluster.Vmm.Migration;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Actors.Migration;

/// <summary>
/// Runs a <see cref="MigrationSource"/> off the actor thread for a VM actor: progress reports and the commit
/// request come back to the actor as messages (<see cref="MigrationProgressed"/>, <see cref="CommitRequested"/>),
/// the outcome as <see cref="MigrationEnded"/>. The run log records the end of the guest's run on this host when
/// the vCPUs pause for the last time, and a new run if the migration fails after that (the VM resumes here).
/// </summary>
public static class MigrationRun
{
    /// <summary>Starts the page stream of <paramref name="migration"/> from <paramref name="machine"/> to <paramref name="target"/>.</summary>
    public static void Start(OutgoingMigration migration, VmMachine machine, IPEndPoint target, IActorRef actor, RunLog? runLog,
        MigrationSettings settings)
    {
        var vmId = migration.Spec.Id;
        var id = migration.MigrationId;
        var ct = migration.Cancellation.Token;
        var pausedHere = 0;
        var options = migration.Options(settings.IoTimeout, async token =>
        {
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            actor.Tell(new CommitRequested(id, written));
            await written.Task.WaitAsync(settings.StepTimeout, token).ConfigureAwait(false);
        });
        var progress = new CallbackProgress(p =>
        {
            if (p.Phase == MigrationPhase.StopAndCopy && Interlocked.Exchange(ref pausedHere, 1) == 0)
                runLog?.End(vmId);
            actor.Tell(new MigrationProgressed(id, p));
        });
        new MigrationSource(machine, options).MigrateAsync(target, progress, ct).ContinueWith(t =>
        {
            migration.MachineReturned.TrySetResult();
            var result = t.IsCompletedSuccessfully
                ? t.Result
                : new MigrationResult { FailureReason = t.Exception?.GetBaseException().Message ?? "the migration source failed" };
            if (!result.Succeeded && !migration.Committed && Volatile.Read(ref pausedHere) == 1)
                runLog?.Start(vmId);
            return new MigrationEnded(id, result);
        }, TaskScheduler.Default).PipeTo(actor);
    }

    /// <summary>An <see cref="IProgress{T}"/> that calls back on the reporting thread (no synchronization context).</summary>
    private sealed class CallbackProgress(Action<MigrationProgress> report) : IProgress<MigrationProgress>
    {
        public void Report(MigrationProgress value) => report(value);
    }
}

/// <summary>From a migration run to its VM actor: a progress report.</summary>
public sealed record MigrationProgressed(string MigrationId, MigrationProgress Progress);

/// <summary>From a migration run to its VM actor: the target is ready; persist the ownership and complete <paramref name="Written"/>.</summary>
public sealed record CommitRequested(string MigrationId, TaskCompletionSource Written);

/// <summary>From a migration run to its VM actor: the page stream ended.</summary>
public sealed record MigrationEnded(string MigrationId, MigrationResult Result);
