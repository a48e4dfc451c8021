using System.Net;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Cluster.Actors.Clustering;
using Cluster.Actors.Devices;
using Cluster.Actors.Migration;
using Cluster.Actors.Placement;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Vms;

/// <summary>
/// Live migration in the VM actor. Source side, a Migrating behaviour: persist VmMigrationStarted, reserve the
/// target through the scheduler, prepare the target's <see cref="MigrationReceiver"/>, borrow the machine from
/// the vCPU supervisor and stream it (<see cref="MigrationRun"/>); lifecycle commands wait in the stash, queries
/// are answered at once. The commit persists VmMigrated (the target owns the VM with the next epoch); after it
/// the source supervisor is released, VmMigrationCompleted is written, the move is published and the entity
/// waits for the shard hand-off (<see cref="MigrationHandOff"/>) to pass its stash on. Before the commit any
/// failure or a cancellation writes VmMigrationFailed and the VM runs on here. Target side: an entity that
/// recovers running on the host a migration brought its guest to adopts that guest instead of booting cold.
/// </summary>
public sealed partial class VmActor
{
    /// <summary>Console bytes carried to the target (under the serializer's payload cap).</summary>
    private const int ConsoleCarriedBytes = 100_000;

    private const string PrepareTimer = "migration-prepare";

    private OutgoingMigration? _outgoing;
    private IActorRef? _releasedSupervisor;
    private bool _leaving;
    private bool _adopting;
    private IncomingMigration? _consoleSeededFrom;

    private MigrationSettings MigrationTunables => _hosting?.Migration ?? MigrationSettings.Default;

    private void MigrationCommands()
    {
        Command<MigrateVm>(OnMigrate);
        Command<CancelMigration>(_ => OnCancel());
        Command<IVmCommand>(c => (_outgoing is not null || _leaving || _adopting) && VmState.IsLifecycle(c), _ => Stash.Stash());
        Command<MigrationStep>(s => _outgoing?.MigrationId == s.MigrationId, OnStep);
        Command<IncomingReady>(r => _outgoing?.MigrationId == r.MigrationId, r =>
        {
            Timers.Cancel(PrepareTimer);
            OnStep(new MigrationStep(r.MigrationId, "prepare", r));
        });
        Command<IncomingRefused>(r => _outgoing?.MigrationId == r.MigrationId, r =>
        {
            Timers.Cancel(PrepareTimer);
            OnStep(new MigrationStep(r.MigrationId, "prepare", r));
        });
        Command<MigrationProgressed>(p => _outgoing?.MigrationId == p.MigrationId, p =>
        {
            if (_outgoing!.Update(p.Progress))
                Publish(_outgoing);
            else
                _hosting?.Agent.Tell(_outgoing.Info);
        });
        Command<CommitRequested>(OnCommitRequested);
        Command<MigrationEnded>(e => _outgoing?.MigrationId == e.MigrationId, OnEnded);
        Command<AdoptionReady>(OnAdoptionReady);
        Command<MigrationHandOff>(_ => OnHandOff());
    }

    private void OnMigrate(MigrateVm migrate)
    {
        var now = DateTime.UtcNow;
        if (_hosting?.Migration is null || _hosting.Scheduler is null)
        {
            Handle(_state.Decide(migrate, now), Sender);
            return;
        }
        if (_leaving)
        {
            Sender.Tell(new NotAllowed(_id, $"VM has just moved to {_state.Owner}"));
            return;
        }
        var up = PlacementBoard.Get(Context.System).Hosts().Select(h => h.Host).ToList();
        var migrationId = Guid.NewGuid().ToString("N")[..12];
        var decision = _state.DecideMigration(migrate, _settings.Node, up, migrationId, now);
        if (decision.Refusal is not null)
        {
            Sender.Tell(decision.Refusal);
            return;
        }
        if (_supervisor is null || _fencePaused)
        {
            Sender.Tell(new NotAllowed(_id, "the guest is not running on this host"));
            return;
        }
        var outgoing = new OutgoingMigration(migrationId, _state.Spec!, _settings.Node, migrate.TargetHost, migrate.Limits, migrate.Cause, now);
        _outgoing = outgoing;
        var replyTo = Sender;
        var scheduler = _hosting.Scheduler;
        PersistMigrationEvent(decision.Events[0], () =>
        {
            replyTo.Tell(new MigrationAccepted(_id, migrationId, outgoing.Source, outgoing.Target));
            Publish(outgoing);
            Step(scheduler.Ask<object>(new ReserveMigrationTarget(outgoing.Spec, outgoing.Target), MigrationTunables.StepTimeout), "reserve");
        });
    }

    private void OnCancel()
    {
        var reply = _state.DecideCancel(_id);
        if (reply is MigrationCancelling && _outgoing is { } o)
        {
            if (o.PendingCommit is not null)
                reply = new NotAllowed(_id, $"migration {o.MigrationId} is committing; it can no longer be cancelled");
            else
            {
                o.CancelRequested = true;
                if (o.Streaming)
                    o.Cancellation.Cancel();
            }
        }
        Sender.Tell(reply);
    }

    /// <summary>Sends the next control step's result back to this actor as a <see cref="MigrationStep"/>.</summary>
    private void Step(Task<object> ask, string step)
    {
        var id = _outgoing!.MigrationId;
        ask.PipeTo(Self, success: r => new MigrationStep(id, step, r), failure: e => new MigrationStep(id, step, new Status.Failure(e)));
    }

    private ActorSelection Receiver(string host) =>
        Context.ActorSelection($"akka.tcp://{Context.System.Name}@{host}{MigrationReceiver.Path}");

    private void OnStep(MigrationStep step)
    {
        var o = _outgoing!;
        if (o.CancelRequested)
        {
            Fail(o, "cancelled", cancelled: true);
            return;
        }
        switch (step.Reply)
        {
            case PlacementDecided:
                // Told, not asked: the receiver watches the sender (this actor) to clean up if the source goes away.
                Receiver(o.Target).Tell(new PrepareIncoming(MigrationReceiver.ProtocolVersion, o.MigrationId, o.Spec, o.Source, _state.Epoch), Self);
                Timers.StartSingleTimer(PrepareTimer, new MigrationStep(o.MigrationId, "prepare",
                    new Status.Failure(new TimeoutException($"no answer within {MigrationTunables.StepTimeout}"))), MigrationTunables.StepTimeout);
                break;
            case PlacementRefused refused:
                Fail(o, $"the target does not fit ({refused.Resource}): {refused.Message}", cancelled: false);
                break;
            case IncomingReady ready:
                o.Prepared = true;
                if (!IPAddress.TryParse(ready.Address, out var address))
                    Fail(o, $"the target offered '{ready.Address}', which is not an IP address", cancelled: false);
                else if (_supervisor is null)
                    Fail(o, "the guest stopped", cancelled: false);
                else
                {
                    o.Endpoint = new IPEndPoint(address, ready.Port);
                    Step(_supervisor.Ask<object>(new LendMachine(o.MachineReturned.Task), MigrationTunables.StepTimeout), "lend");
                }
                break;
            case IncomingRefused refused:
                Fail(o, $"the target refused: {refused.Reason}", cancelled: false);
                break;
            case MachineLent lent:
                o.Streaming = true;
                MigrationRun.Start(o, lent.Machine, o.Endpoint!, Self, _hosting?.RunLog, MigrationTunables);
                break;
            case ConsoleOutput history:
                Commit(o, history.Data);
                break;
            case Status.Failure failure:
                Fail(o, step.Step switch
                {
                    "reserve" => $"the scheduler did not reserve the target: {failure.Cause.Message}",
                    "prepare" => $"the target did not answer: {failure.Cause.Message}",
                    _ => $"{step.Step} failed: {failure.Cause.Message}",
                }, cancelled: false);
                break;
            default:
                Fail(o, $"unexpected answer {step.Reply.GetType().Name} to {step.Step}", cancelled: false);
                break;
        }
    }

    private void OnCommitRequested(CommitRequested request)
    {
        if (_outgoing is not { } o || o.MigrationId != request.MigrationId || o.CancelRequested)
        {
            request.Written.TrySetException(new OperationCanceledException("the migration was cancelled"));
            return;
        }
        o.PendingCommit = request.Written;
        Step(_console.Ask<object>(new ConsoleTail(_id, ConsoleCarriedBytes), MigrationTunables.StepTimeout), "console");
    }

    /// <summary>Seeds the target's console, then persists the commit point; the source may resume the target once it is written.</summary>
    private void Commit(OutgoingMigration o, byte[] history)
    {
        Receiver(o.Target).Tell(new IncomingConsole(o.MigrationId, _id, history));
        PersistMigrationEvent(_state.Commit(_id, o.MigrationId, o.Source, o.Target, DateTime.UtcNow), () =>
        {
            o.Committed = true;
            var supervisor = _supervisor;
            ForgetSupervisor();
            if (o.PendingCommit!.TrySetResult())
            {
                supervisor?.Tell(ReleaseGuest.Instance);
                _releasedSupervisor = supervisor;
            }
            else
            {
                // The source gave up waiting and resumed here, but the journal gives the VM to the target now.
                _log.Warning("VM {0}: ownership moved to {1} after the source gave up; stopping the guest here", _id, o.Target);
                supervisor?.Tell(new StopVcpus(false));
            }
        });
    }

    private void OnEnded(MigrationEnded ended)
    {
        var o = _outgoing!;
        var r = ended.Result;
        o.Streaming = false;
        if (!o.Committed)
        {
            Fail(o, r.FailureReason ?? "the migration failed", o.CancelRequested);
            return;
        }
        var now = DateTime.UtcNow;
        o.Completed(r, now);
        var mode = r.MaxThrottlePercent > 0 ? $"{r.ModeUsed} (throttled to {r.MaxThrottlePercent}%)" : r.ModeUsed.ToString();
        var reason = r.Succeeded
            ? $"migration to {o.Target} completed: {r.Downtime.TotalMilliseconds:0.#} ms downtime, {r.Rounds} rounds"
            : $"ownership moved to {o.Target}, but {r.FailureReason}";
        PersistMigrationEvent(new VmMigrationCompleted(_id, now, reason, o.MigrationId, r.Downtime.TotalMilliseconds,
            o.Info.TotalMs ?? 0, r.WireBytes, r.Rounds, mode), () => Left(o));
    }

    /// <summary>The VM runs on the target: free this host and let the shard follow.</summary>
    private void Left(OutgoingMigration o)
    {
        _releasedSupervisor?.Tell(new StopVcpus(false));
        _releasedSupervisor = null;
        _outgoing = null;
        _leaving = true;
        _hosting!.Agent.Tell(new VmUnhosted(_id, Self));
        _hosting.Scheduler?.Tell(new EndMigrationReservation(o.Spec, o.Target));
        var moved = new VmMoved(_id, o.Source, o.Target, o.MigrationId);
        PendingMoves.Get(Context.System).Add(moved);
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Publish(MigrationTopics.Moves, moved));
        Publish(o);
        _log.Info("VM {0}: migrated to {1} in {2:0} ms ({3:0.#} ms downtime, {4} rounds, {5} bytes sent); handing the entity over",
            _id, o.Target, o.Info.TotalMs, o.Info.DowntimeMs, o.Info.Round, o.Info.WireBytes);
    }

    /// <summary>Abandons <paramref name="o"/> before its commit: a running page stream is cancelled (its end comes back), otherwise it ends here.</summary>
    private void Fail(OutgoingMigration o, string reason, bool cancelled)
    {
        if (o.Streaming)
        {
            o.CancelRequested |= cancelled;
            o.Cancellation.Cancel();
            return;
        }
        var now = DateTime.UtcNow;
        o.MachineReturned.TrySetResult();
        o.Failed(reason, cancelled, now);
        _outgoing = null;
        if (o.Prepared)
            Receiver(o.Target).Tell(new AbortIncoming(o.MigrationId, reason));
        _hosting?.Scheduler?.Tell(new EndMigrationReservation(o.Spec, o.Source));
        Publish(o);
        _log.Info("VM {0}: migration to {1} {2}: {3}", _id, o.Target, cancelled ? "cancelled" : "failed", reason);
        PersistMigrationEvent(new VmMigrationFailed(_id, now, $"migration to {o.Target} {(cancelled ? "cancelled" : "failed")}: {reason}",
            o.MigrationId, o.Target, cancelled), Stash.UnstashAll);
    }

    private void Publish(OutgoingMigration o)
    {
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Publish(MigrationTopics.Progress, o.Info));
        _hosting?.Agent.Tell(o.Info);
    }

    private void PersistMigrationEvent(VmEvent e, Action then)
    {
        _pendingPersists++;
        Persist(e, persisted =>
        {
            _pendingPersists--;
            _state = _state.Apply(persisted);
            if (LastSequenceNr % _settings.SnapshotEvery == 0)
                SaveSnapshot(_state.ToSnapshot());
            then();
        });
    }

    /// <summary>
    /// On a migration's target host, as the entity starts: fills its console with the source's history at once, so
    /// that a console tail answered between the shard hand-off and the adoption (commands delivered during recovery
    /// come before it) shows the VM's console rather than an empty one. The adoption seeds it when it was not here yet.
    /// </summary>
    private void SeedConsoleFromIncoming()
    {
        if (_hosting is not null && IncomingMigrations.Get(Context.System).Find(_id) is { ConsoleHistory: { Length: > 0 } history } incoming)
        {
            _console.Tell(new SerialChunk(history));
            _consoleSeededFrom = incoming;
        }
    }

    /// <summary>
    /// On a migration's target host: takes the incoming migration of this VM, if any, and waits for its guest
    /// (adopted in <see cref="OnAdoptionReady"/>); false when nothing arrives here.
    /// </summary>
    private bool TryAdopt()
    {
        if (_hosting is null || IncomingMigrations.Get(Context.System).TryTake(_id) is not { } incoming)
            return false;
        _adopting = true;
        var runLog = _hosting.RunLog;
        var id = _id;
        incoming.Arrival.WaitAsync(MigrationTunables.StepTimeout * 2).ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully)
                return new AdoptionReady(incoming, t.Result);
            // Too late: a guest that still arrives is nobody's and is dropped.
            incoming.Arrival.ContinueWith(late => Discard(id, late.Result, runLog), TaskScheduler.Default);
            return new AdoptionReady(incoming, null);
        }, TaskScheduler.Default).PipeTo(Self);
        return true;
    }

    private void OnAdoptionReady(AdoptionReady ready)
    {
        _adopting = false;
        var guest = ready.Guest;
        if (guest is not null && _state.IsActive && _myEpoch == 0 && _state.Owner == _settings.Node
            && _state.Epoch == ready.Incoming.ExpectedEpoch + 1)
        {
            _myEpoch = _state.Epoch;
            if (!ReferenceEquals(_consoleSeededFrom, ready.Incoming) && ready.Incoming.ConsoleHistory is { Length: > 0 } history)
                _console.Tell(new SerialChunk(history));
            _supervisor = Context.Watch(Context.ActorOf(
                VcpuSupervisor.Adopt(_state.Spec!, guest, _factory, _console, _hosting), $"vcpus-{++_boots}"));
            if (_state.Status == VmStatus.Paused)
                _supervisor.Tell(PauseVcpus.Instance);
            _log.Info("VM {0}: adopted the guest migrated here (epoch {1})", _id, _myEpoch);
        }
        else
        {
            Discard(_id, guest, _hosting?.RunLog);
            if (_state.IsActive && _myEpoch == 0)
                ColdBootAfterRecovery();
        }
        Stash.UnstashAll();
    }

    /// <summary>Stops and frees a migrated guest nobody adopts.</summary>
    private static void Discard(string id, ParkedGuest? guest, RunLog? runLog)
    {
        if (guest is null)
            return;
        guest.Guest.Stop();
        runLog?.End(id);
        guest.Guest.Dispose();
    }

    private void ColdBootAfterRecovery() =>
        PersistAndAct([new VmStarted(_id, DateTime.UtcNow, "cold boot: the journal says it was running (node restart or host failover)")], null);

    /// <summary>The shard hands the entity over: pass held-back commands on to the region (they reach the new host), then stop.</summary>
    private void OnHandOff()
    {
        if (_hosting is not null)
        {
            var region = ClusterSharding.Get(Context.System).ShardRegion(VmMessageExtractor.TypeName);
            foreach (var envelope in Stash.ClearStash())
                region.Tell(envelope.Message, envelope.Sender);
            if (_leaving)
                region.Tell(new ShardRegion.StartEntity(_id));
        }
        Context.Stop(Self);
    }
}
