using System.Diagnostics;
using System.Net;
using Akka.Actor;
using Cluster.Actors.Clustering;
using Cluster.Actors.Runtime;
using Cluster.Contracts.Migration;
using Cluster.Vmm.Migration;

namespace Cluster.Actors.Migration;

/// <summary>
/// Runs the page stream of one outgoing migration off the actor thread, for the vCPU supervisor that owns the guest
/// (<see cref="IGuestRuntime.MigrateOutAsync"/>: in this process or in the guest's VMM worker). Progress reports go to the
/// requester (the <see cref="MigrationSourceActor"/>), the commit request to the requester (<see cref="CommitRequested"/>) once the supervisor holds
/// its wait (<see cref="RunCommitRequested"/>), and the outcome (<see cref="MigrationEnded"/>) to both, even when the supervisor has stopped meanwhile. The run log records the end of the guest's run on this host when the
/// vCPUs pause for the last time, and a new run if the migration fails after that (the VM resumes here).
/// </summary>
public static class MigrationRun
{
    /// <summary>Starts streaming <paramref name="guest"/> to <paramref name="target"/>; the task ends when the stream no longer uses the guest.</summary>
    public static Task Start(string vmId, MigrateGuestOut order, IGuestRuntime guest, IPEndPoint target, IActorRef supervisor, IActorRef requester, RunLog? runLog,
        MigrationSettings settings, CancellationToken ct, ActorSystem? system = null, CommitSlot? slot = null)
    {
        var id = order.MigrationId;
        var pausedHere = 0;
        var committed = 0;
        long commitWaitedTicks = 0;
        var options = Options(order.Limits, settings.IoTimeout) with
        {
            // Once asked, the commit ends only with its outcome: CommitWritten (committed), CommitRefused (not written), or, when
            // neither came within the step timeout (a late or failed journal write, a lost message), the journal's answer
            // (CommitOutcomeUnknown: the supervisor asks it). A timeout is no refusal: the source resuming a guest that the
            // journal gives to the target would run it twice, and its Abort would have the target drop the only other copy.
            Commit = async _ =>
            {
                var asked = Stopwatch.GetTimestamp();
                var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                if (slot is not null && !slot.TryOpen(id, written) && system is not null)
                {
                    // The supervisor stopped before the commit was asked (the VM actor stopped, maybe on a journal fault): the
                    // commit may still be written by the write the source actor asks for, so the journal answers it here.
                    CommitOutcomes.ResolveInto(system, vmId, id, settings.CommitReadInterval, written);
                }
                supervisor.Tell(new RunCommitRequested(id, written));
                // Straight to the migration's actor (not through the supervisor): the supervisor holds the completion source before
                // any answer can reach it, since every answer follows this request.
                requester.Tell(new CommitRequested(id));
                try
                {
                    if (await Task.WhenAny(written.Task, Task.Delay(settings.StepTimeout)).ConfigureAwait(false) != written.Task)
                        supervisor.Tell(new CommitOutcomeUnknown(id));
                    await written.Task.ConfigureAwait(false);
                }
                finally
                {
                    Volatile.Write(ref commitWaitedTicks, Stopwatch.GetElapsedTime(asked).Ticks);
                }
                Volatile.Write(ref committed, 1);
            },
        };
        var progress = new CallbackProgress(p =>
        {
            if (p.Phase == MigrationPhase.StopAndCopy && Interlocked.Exchange(ref pausedHere, 1) == 0)
                runLog?.End(vmId);
            requester.Tell(new MigrationProgressed(id, p));
        });
        return guest.MigrateOutAsync(target, order.Credentials, options, progress, ct).ContinueWith(t =>
        {
            var result = t.IsCompletedSuccessfully
                ? t.Result
                : new MigrationResult { FailureReason = t.Exception?.GetBaseException().Message ?? "the migration source failed" };
            if (!result.Succeeded && Volatile.Read(ref committed) == 0 && Volatile.Read(ref pausedHere) == 1)
                runLog?.Start(vmId);
            var ended = new MigrationEnded(id, result, TimeSpan.FromTicks(Volatile.Read(ref commitWaitedTicks)));
            supervisor.Tell(ended);
            requester.Tell(ended);
        }, TaskScheduler.Default);
    }

    /// <summary>The VMM's options for <paramref name="limits"/> (no commit callback).</summary>
    public static MigrationOptions Options(MigrationLimits limits, TimeSpan ioTimeout) => new()
    {
        DowntimeLimit = TimeSpan.FromMilliseconds(limits.DowntimeMs),
        MaxBandwidth = limits.BandwidthBytesPerSecond,
        Connections = limits.Connections,
        Mode = limits.Strategy switch
        {
            MigrationStrategy.PreCopy => MigrationMode.AutoConverge,
            MigrationStrategy.PostCopy => MigrationMode.PostCopy,
            _ => MigrationMode.Auto,
        },
        AllowPostCopy = limits.Strategy != MigrationStrategy.PreCopy,
        IoTimeout = ioTimeout,
        DisposeSourceOnSuccess = false,
    };

    /// <summary>An <see cref="IProgress{T}"/> that calls back on the reporting thread (no synchronization context).</summary>
    private sealed class CallbackProgress(Action<MigrationProgress> report) : IProgress<MigrationProgress>
    {
        public void Report(MigrationProgress value) => report(value);
    }
}
