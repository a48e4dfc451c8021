using System.Diagnostics;
using System.Net;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Cluster.Actors.Clustering;
using Cluster.Actors.Leases;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using Cluster.Vmm;
using Cluster.Vmm.Migration;

namespace Cluster.Actors.Migration;

/// <summary>
/// The source side of one live migration, a child of the VM actor, started once VmMigrationStarted is in the journal.
/// It talks to the scheduler, the target's <see cref="MigrationReceiver"/> and the vCPU supervisor that streams the
/// guest; what must be persisted it asks of its parent (which owns the journal). Its behaviours:
/// <code>
///   Reserving --PlacementDecided / PrepareIncoming--&gt; Preparing --IncomingReady / MigrateGuestOut--&gt; Streaming
///   Streaming --CommitRequested / PersistMigrationCommit, ConsoleTail--&gt; CommitWriting --MigrationCommitPersisted--&gt; Completing
///   CommitWriting | Completing: ConsoleOutput / IncomingConsole to the target
///   Completing --MigrationEnded (and the console sent)--&gt; Done (OutgoingMigrationCompleted)
///   Reserving | Preparing --failure or CancelMigration--&gt; stop (OutgoingMigrationFailed)
///   Streaming --failure or CancelMigration--&gt; Cancelling (CancelGuestMigration) --MigrationEnded--&gt; stop (OutgoingMigrationFailed)
/// </code>
/// Guarantees: the commit is persisted before the supervisor hears <see cref="CommitWritten"/> (from the VM actor, in
/// the persist callback; so before the target resumes); while the guest is paused for the commit only the journal write
/// is on the path (the console tail is asked beside it); a commit request after a cancellation is refused; from
/// CommitWriting on it can no longer be cancelled; an
/// abandoned migration tells the target (<see cref="AbortIncoming"/>, harmless when it was not prepared) and ends the
/// reservation. The receiver watches this actor: after success it stays (Done) until its parent stops, so its end
/// is not mistaken for a source that went away.
/// </summary>
public sealed class MigrationSourceActor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    /// <summary>Console bytes carried to the target (under the serializer's payload cap).</summary>
    public const int ConsoleCarriedBytes = 100_000;

    private const string PrepareTimer = "prepare";
    private const string StreamerGoneTimer = "streamer-gone";

    private readonly OutgoingMigration _o;
    private readonly long _epoch;
    private readonly IActorRef _streamer;
    private readonly IActorRef _console;
    private readonly VmHosting _hosting;
    private readonly MigrationSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>The commit path's timings (Stopwatch): when the commit was asked, and after how long the console tail and the journal answered.</summary>
    private long _commitAsked;
    private TimeSpan _consoleAnswered;
    private TimeSpan _commitPersisted;
    private TimeSpan _journalWrite;
    private bool _consoleSent;

    public MigrationSourceActor(OutgoingMigration outgoing, long epoch, IActorRef streamer, IActorRef console, VmHosting hosting)
    {
        _o = outgoing;
        _epoch = epoch;
        _streamer = streamer;
        _console = console;
        _hosting = hosting;
        _settings = hosting.Migration ?? MigrationSettings.Default;
        Reserving();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    /// <summary>
    /// The source side of <paramref name="outgoing"/>, for a VM at <paramref name="epoch"/> whose guest
    /// <paramref name="streamer"/> (its vCPU supervisor) runs here.
    /// </summary>
    public static Props Props(OutgoingMigration outgoing, long epoch, IActorRef streamer, IActorRef console, VmHosting hosting) =>
        Akka.Actor.Props.Create(() => new MigrationSourceActor(outgoing, epoch, streamer, console, hosting));

    protected override void PreStart()
    {
        Context.Watch(_streamer);
        Publish();
        _hosting.Scheduler!.Ask<object>(new ReserveMigrationTarget(_o.Spec, _o.Target), _settings.StepTimeout)
            .PipeTo(Self, failure: e => new ReservationFailed(e.Message));
    }

    private void Reserving()
    {
        Receive<PlacementDecided>(_ =>
        {
            // Told, not asked: the receiver watches the sender (this actor) to clean up if the source goes away.
            Receiver().Tell(new PrepareIncoming(MigrationReceiver.ProtocolVersion, _o.MigrationId, _o.Spec, _o.Source, _epoch));
            Timers.StartSingleTimer(PrepareTimer, PrepareTimedOut.Instance, _settings.StepTimeout);
            Become(Preparing);
            Stash.UnstashAll();
        });
        // The scheduler's answer comes through a piped task, messages from other senders in no set order with it: an
        // IncomingReady seen first waits for it (the tests' stand-in target answers at once, under load before it).
        Receive<IncomingReady>(r => r.MigrationId == _o.MigrationId, _ => Stash.Stash());
        Receive<PlacementRefused>(r => Abandon($"the target does not fit ({r.Resource}): {r.Message}", cancelled: false, prepared: false));
        Receive<ReservationFailed>(f => Abandon($"the scheduler did not reserve the target: {f.Reason}", cancelled: false, prepared: false));
        BeforeStreaming(prepared: false);
    }

    private void Preparing()
    {
        Receive<IncomingReady>(r => r.MigrationId == _o.MigrationId, ready =>
        {
            Timers.Cancel(PrepareTimer);
            if (!IPAddress.TryParse(ready.Address, out _))
            {
                Abandon($"the target offered '{ready.Address}', which is not an IP address", cancelled: false, prepared: true);
                return;
            }
            MigrationCredentials credentials;
            try
            {
                credentials = new MigrationCredentials(ready.Token, ready.CertificatePin).Validated();
            }
            catch (VmmException e)
            {
                Abandon($"the target's credentials are malformed: {e.Message}", cancelled: false, prepared: true);
                return;
            }
            _streamer.Tell(new MigrateGuestOut(_o.MigrationId, ready.Address, ready.Port, credentials, _o.Limits));
            Become(Streaming);
        });
        Receive<IncomingRefused>(r => r.MigrationId == _o.MigrationId, r =>
        {
            Timers.Cancel(PrepareTimer);
            Abandon($"the target refused: {r.Reason}", cancelled: false, prepared: false);
        });
        Receive<PrepareTimedOut>(_ => Abandon($"the target did not answer: no answer within {_settings.StepTimeout}", cancelled: false, prepared: true));
        BeforeStreaming(prepared: true);
    }

    /// <summary>Reserving and Preparing: nothing streams yet, so a cancellation or a stopped guest ends the migration at once.</summary>
    private void BeforeStreaming(bool prepared)
    {
        Receive<CancelMigration>(_ =>
        {
            Sender.Tell(new MigrationCancelling(_o.Spec.Id, _o.MigrationId));
            Abandon("cancelled", cancelled: true, prepared);
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_streamer), _ => Abandon("the guest stopped", cancelled: false, prepared));
    }

    private void Streaming()
    {
        Receive<CommitRequested>(r =>
        {
            // A commit is written only while this host holds its lease for at least a renewal period more (a node cut off from
            // the database, or one that just woke from a stall, must not hand the VM on): refused, the guest goes on here.
            var lease = HostLeases.Get(Context.System);
            if (!lease.View.Holds(lease.Settings.RenewEvery))
            {
                _streamer.Tell(new CommitRefused(r.MigrationId,
                    $"this host's lease is not held for {lease.Settings.RenewEvery.TotalSeconds:0.#} s more (left: " +
                    $"{(lease.View.RemainingNow ?? TimeSpan.Zero).TotalMilliseconds:0} ms)"));
                return;
            }
            // The guest is paused from here until the target resumes: only the journal write stays on that path. The console
            // tail for the target is asked beside it and sent whenever it comes (before the outcome is reported).
            _commitAsked = Stopwatch.GetTimestamp();
            Context.Parent.Tell(new PersistMigrationCommit(_o.MigrationId, _o.Source, _o.Target));
            _console.Ask<object>(new ConsoleTail(_o.Spec.Id, ConsoleCarriedBytes), _settings.StepTimeout)
                .PipeTo(Self, failure: e => new ConsoleHistoryFailed(e.Message));
            Become(CommitWriting);
        });
        Receive<CancelMigration>(_ =>
        {
            Sender.Tell(new MigrationCancelling(_o.Spec.Id, _o.MigrationId));
            CancelStream(cancelled: true);
        });
        Receive<MigrationEnded>(e => Abandon(e.Result.FailureReason ?? "the migration failed", cancelled: false, prepared: true));
        WhileStreaming();
    }

    /// <summary>
    /// The parent writes the commit; the VM actor tells the supervisor <see cref="CommitWritten"/> itself once it is in
    /// the journal (one hop less while the guest is paused), and this actor hears <see cref="MigrationCommitPersisted"/>.
    /// </summary>
    private void CommitWriting()
    {
        Receive<MigrationCommitPersisted>(p =>
        {
            _commitPersisted = Stopwatch.GetElapsedTime(_commitAsked);
            _journalWrite = p.JournalWrite;
            Timers.Cancel(StreamerGoneTimer);
            Become(Completing);
            Stash.UnstashAll();
        });
        // The stream gave up waiting meanwhile: its end is handled once the commit is written (the supervisor stops the guest).
        Receive<MigrationEnded>(_ => Stash.Stash());
        ConsoleForTarget();
        RefuseCancel();
        WhileStreaming();
    }

    private void Completing()
    {
        Receive<MigrationEnded>(e =>
        {
            // The target hears the console history before anyone hears of the move (the entity there seeds its console from it).
            if (!_consoleSent)
            {
                Stash.Stash();
                return;
            }
            var r = e.Result;
            var now = DateTime.UtcNow;
            _o.Completed(r, now);
            var mode = r.MaxThrottlePercent > 0 ? $"{r.ModeUsed} (throttled to {r.MaxThrottlePercent}%)" : r.ModeUsed.ToString();
            var reason = r.Succeeded
                ? $"migration to {_o.Target} completed: {r.Downtime.TotalMilliseconds:0.#} ms downtime, {r.Rounds} rounds"
                : $"ownership moved to {_o.Target}, but {r.FailureReason}";
            _log.Info($"VM {_o.Spec.Id}: migration {_o.MigrationId}: {r.Downtime.TotalMilliseconds:0.0} ms downtime (target ready after " +
                $"{r.ReadyAfter.TotalMilliseconds:0.0} ms, commit {r.CommitTime.TotalMilliseconds:0.0} ms, resume {r.ResumeTime.TotalMilliseconds:0.0} ms); the commit callback waited " +
                $"{e.CommitWaited.TotalMilliseconds:0.0} ms on this node, of which this actor saw {_commitPersisted.TotalMilliseconds:0.0} ms " +
                $"(journal write {_journalWrite.TotalMilliseconds:0.0} ms; console tail beside it {_consoleAnswered.TotalMilliseconds:0.0} ms)");
            Context.Parent.Tell(new OutgoingMigrationCompleted(new VmMigrationCompleted(_o.Spec.Id, now, reason, _o.MigrationId,
                r.Downtime.TotalMilliseconds, _o.Info.TotalMs ?? 0, r.WireBytes, r.Rounds, mode), _o.Info));
            Become(Done);
        });
        ConsoleForTarget();
        Receive<MigrationProgressed>(p => Progressed(p.Progress));
        // Released by the VM actor: its stop is no longer the migration's concern (the stream reports its end regardless).
        Receive<Terminated>(_ => { });
        RefuseCancel();
    }

    /// <summary>The console tail asked at the commit: sent to the target as it comes (a failure leaves the target without history).</summary>
    private void ConsoleForTarget()
    {
        Receive<ConsoleOutput>(history =>
        {
            _consoleAnswered = Stopwatch.GetElapsedTime(_commitAsked);
            Receiver().Tell(new IncomingConsole(_o.MigrationId, _o.Spec.Id, history.Data));
            ConsoleSent();
        });
        Receive<ConsoleHistoryFailed>(f =>
        {
            _log.Warning("VM {0}: migration {1}: the console history could not be read, the target starts without it: {2}", _o.Spec.Id,
                _o.MigrationId, f.Reason);
            ConsoleSent();
        });
    }

    private void ConsoleSent()
    {
        _consoleSent = true;
        Stash.UnstashAll();
    }

    /// <summary>The stream is being cancelled (by an operator, or for a failure); its end comes back.</summary>
    private void Cancelling(bool cancelled)
    {
        Receive<MigrationEnded>(e => Abandon(e.Result.FailureReason ?? "the migration failed", cancelled, prepared: true));
        Receive<CommitRequested>(r => _streamer.Tell(new CommitRefused(r.MigrationId, "the migration was cancelled")));
        Receive<CancelMigration>(_ => Sender.Tell(new MigrationCancelling(_o.Spec.Id, _o.MigrationId)));
        WhileStreaming();
    }

    /// <summary>Committed and reported: nothing more to do; kept until the VM actor stops (the target watches this actor).</summary>
    private void Done() => ReceiveAny(_ => { });

    /// <summary>Progress and the streamer's end, in every behaviour where the page stream may run.</summary>
    private void WhileStreaming()
    {
        Receive<MigrationProgressed>(p => Progressed(p.Progress));
        // Its page stream ends on its own and reports here; should that report never come, the migration fails after the stream's limits.
        Receive<Terminated>(t => t.ActorRef.Equals(_streamer), _ =>
            Timers.StartSingleTimer(StreamerGoneTimer, new MigrationEnded(_o.MigrationId,
                new MigrationResult { FailureReason = "the guest stopped during the migration" }), _settings.StepTimeout + _settings.IoTimeout));
    }

    private void RefuseCancel() =>
        Receive<CancelMigration>(_ => Sender.Tell(new NotAllowed(_o.Spec.Id, $"migration {_o.MigrationId} is committing; it can no longer be cancelled")));

    private void Progressed(MigrationProgress progress)
    {
        if (_o.Update(progress))
            Publish();
        else
            _hosting.Agent.Tell(_o.Info);
    }

    private void CancelStream(bool cancelled)
    {
        _streamer.Tell(CancelGuestMigration.Instance);
        Become(() => Cancelling(cancelled));
    }

    /// <summary>Gives the migration up before its commit: the target is told, the reservation ends, the parent persists the failure.</summary>
    private void Abandon(string reason, bool cancelled, bool prepared)
    {
        var now = DateTime.UtcNow;
        _o.Failed(reason, cancelled, now);
        if (prepared)
            Receiver().Tell(new AbortIncoming(_o.MigrationId, reason));
        _hosting.Scheduler?.Tell(new EndMigrationReservation(_o.Spec, _o.Source));
        Publish();
        var verb = cancelled ? "cancelled" : "failed";
        _log.Info("VM {0}: migration to {1} {2}: {3}", _o.Spec.Id, _o.Target, verb, reason);
        Context.Parent.Tell(new OutgoingMigrationFailed(new VmMigrationFailed(_o.Spec.Id, now, $"migration to {_o.Target} {verb}: {reason}",
            _o.MigrationId, _o.Target, cancelled), _o.Info));
        Context.Stop(Self);
    }

    private void Publish()
    {
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Publish(MigrationTopics.Progress, _o.Info));
        _hosting.Agent.Tell(_o.Info);
    }

    private ActorSelection Receiver() =>
        Context.ActorSelection(HostPaths.Of(Context.System, _o.Target, MigrationReceiver.Path));
}
