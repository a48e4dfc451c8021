using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Cluster.Actors.Clustering;
using Cluster.Actors.Devices;
using Cluster.Actors.Leases;
using Cluster.Actors.Migration;
using Cluster.Actors.Placement;
using Cluster.Actors.Runtime;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Vms;

/// <summary>
/// Live migration in the VM actor. Source side: Running --MigrateVm, VmMigrationStarted persisted--&gt; Migrating, where a
/// <see cref="MigrationSourceActor"/> child runs the protocol (scheduler, target receiver, the vCPU supervisor's page
/// stream) and asks this actor to persist the commit (<see cref="PersistMigrationCommit"/>) and the outcome
/// (<see cref="OutgoingMigrationCompleted"/> / <see cref="OutgoingMigrationFailed"/>). Lifecycle commands wait in the
/// stash, queries are answered at once. After success the entity is Leaving: the move is published and the shard
/// hand-off (<see cref="MigrationHandOff"/>) passes the stash on; after a failure the VM rests here again (the stash is
/// replayed). Target side, Adopting: an entity that recovers running on the host a migration brought its guest to
/// waits for that guest and adopts it instead of booting cold.
/// </summary>
public sealed partial class VmActor
{
    /// <summary>The migration id whose console history already seeded the console (on a migration's target host).</summary>
    private string? _consoleSeededFrom;

    private MigrationSettings MigrationTunables => _hosting?.Migration ?? MigrationSettings.Default;

    private void OnMigrate(MigrateVm migrate, bool streamable)
    {
        var now = DateTime.UtcNow;
        if (_hosting?.Migration is null || _hosting.Scheduler is null)
        {
            Handle(_state.Decide(migrate, now), Sender, null);
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
        if (!streamable || _supervisor is null)
        {
            Sender.Tell(new NotAllowed(_id, "the guest is not running on this host"));
            return;
        }
        var replyTo = Sender;
        var streamer = _supervisor;
        var hosting = _hosting;
        PersistAndAct([decision.Events[0]], null, () =>
        {
            replyTo.Tell(new MigrationAccepted(_id, migrationId, _settings.Node, migrate.TargetHost));
            var outgoing = new OutgoingMigration(migrationId, _state.Spec!, _settings.Node, migrate.TargetHost, migrate.Limits, migrate.Cause, now);
            var child = Context.Watch(Context.ActorOf(MigrationSourceActor.Props(outgoing, _state.Epoch, streamer, _console, hosting),
                $"migration-{migrationId}"));
            Become(() => Migrating(new Outgoing(child, null, null)));
        });
    }

    /// <summary>
    /// The source side of a migration runs in <see cref="Outgoing.Child"/>: lifecycle commands wait; the commit and the
    /// outcome are persisted here when the child asks.
    /// </summary>
    private void Migrating(Outgoing m)
    {
        Command<IVmCommand>(VmState.IsLifecycle, _ => Stash.Stash());
        Command<MigrateVm>(_ => Sender.Tell(new NotAllowed(_id, _state.Migration is { } active
            ? $"VM is already migrating to {active.To} (migration {active.MigrationId})"
            : "VM is migrating")));
        Command<CancelMigration>(c =>
        {
            var reply = _state.DecideCancel(_id);
            if (reply is MigrationCancelling)
                m.Child.Forward(c);
            else
                Sender.Tell(reply);
        });
        Command<PersistMigrationCommit>(p =>
        {
            var child = Sender;
            var persisting = System.Diagnostics.Stopwatch.GetTimestamp();
            PersistAndAct([_state.Commit(_id, p.MigrationId, p.Source, p.Target, DateTime.UtcNow)], null, () =>
            {
                var released = _supervisor;
                ForgetSupervisor();
                // Released first: the guest's stop is no exit now. If the stream gave up waiting and resumed the guest
                // here, the supervisor stops it when the commit reaches it (the journal gives the VM to the target).
                released?.Tell(ReleaseGuest.Instance);
                // The guest is paused until the target resumes, which waits for this: straight to the supervisor.
                released?.Tell(new CommitWritten(p.MigrationId));
                Become(() => Migrating(m with { Released = released, FencePaused = null }));
                child.Tell(new MigrationCommitPersisted(p.MigrationId, System.Diagnostics.Stopwatch.GetElapsedTime(persisting)));
            });
        });
        Command<OutgoingMigrationCompleted>(c =>
        {
            Context.Unwatch(m.Child);
            PersistAndAct([c.Event], null, () => Left(c.Info.MigrationId, c.Info.Source, c.Info.Target, c.Info, m.Released));
        });
        Command<OutgoingMigrationFailed>(f =>
        {
            Context.Unwatch(m.Child);
            PersistAndAct([f.Event], null, () => Settle(m.FencePaused));
        });
        Command<Terminated>(t => Equals(t.ActorRef, m.Child), _ => MigrationActorStopped(m));
        Command<FencePause>(_ =>
        {
            if (m.FencePaused is not null || _supervisor is null)
                return;
            _log.Warning("VM {0}: fence pause (this node lost the majority)", _id);
            _supervisor.Tell(PauseVcpus.Instance);
            Become(() => Migrating(m with { FencePaused = _supervisor }));
        });
        Command<FenceResume>(_ =>
        {
            if (m.FencePaused is null)
                return;
            if (_state.Status == VmStatus.Running && Equals(_supervisor, m.FencePaused))
                _supervisor!.Tell(ResumeVcpus.Instance);
            Become(() => Migrating(m with { FencePaused = null }));
        });
        Common(settle: null);
    }

    /// <summary>The migration's child stopped without reporting (it failed): before the commit the VM stays here, after it the VM left.</summary>
    private void MigrationActorStopped(Outgoing m)
    {
        var now = DateTime.UtcNow;
        switch (_state.Migration)
        {
            case { Committed: false } active:
                _log.Warning("VM {0}: the actor of migration {1} stopped before the commit; the VM stays here", _id, active.MigrationId);
                _hosting?.Scheduler?.Tell(new EndMigrationReservation(_state.Spec!, _settings.Node));
                PersistAndAct([new VmMigrationFailed(_id, now, $"migration to {active.To} failed: its actor stopped", active.MigrationId,
                    active.To, Cancelled: false)], null, () => Settle(m.FencePaused));
                break;
            case { } committed:
                _log.Warning("VM {0}: the actor of migration {1} stopped after the commit; the VM is on {2}", _id, committed.MigrationId,
                    committed.To);
                PersistAndAct([new VmMigrationCompleted(_id, now, $"ownership moved to {committed.To}, but the migration's actor stopped",
                    committed.MigrationId, 0, 0, 0, 0, "unknown")], null, () => Left(committed.MigrationId, committed.From, committed.To, null, m.Released));
                break;
            default:
                Settle(m.FencePaused);
                break;
        }
    }

    /// <summary>
    /// Recovered on a host other than the target with a migration committed and not completed (the source's actor stopped
    /// around the commit, a journal fault): the journal gives the VM to the target, where its guest waits parked (or learns
    /// the commit from the journal), so nothing boots here; the migration is completed and the entity follows its VM.
    /// </summary>
    private void LeaveAfterRecoveredCommit(ActiveMigration committed)
    {
        _log.Warning("VM {0}: migration {1} to {2} was committed before this actor restarted; completing it (no boot here)", _id,
            committed.MigrationId, committed.To);
        PersistAndAct([new VmMigrationCompleted(_id, DateTime.UtcNow, $"ownership moved to {committed.To}; the source's actor restarted after the commit",
            committed.MigrationId, 0, 0, 0, 0, "unknown")], null, () =>
            {
                Left(committed.MigrationId, committed.From, committed.To, null, null);
                Stash.UnstashAll();
            });
    }

    /// <summary>The VM runs on the target: free this host, publish the move and wait for the shard to follow.</summary>
    private void Left(string migrationId, string source, string target, MigrationInfo? info, IActorRef? released)
    {
        released?.Tell(new StopVcpus(false));
        _hosting!.Agent.Tell(new VmUnhosted(_id, Self));
        _hosting.Scheduler?.Tell(new EndMigrationReservation(_state.Spec!, target));
        var moved = new VmMoved(_id, source, target, migrationId);
        PendingMoves.Get(Context.System).Add(moved);
        var mediator = DistributedPubSub.Get(Context.System).Mediator;
        mediator.Tell(new Publish(MigrationTopics.Moves, moved));
        if (info is not null)
        {
            mediator.Tell(new Publish(MigrationTopics.Progress, info));
            _hosting.Agent.Tell(info);
            _log.Info("VM {0}: migrated to {1} in {2:0} ms ({3:0.#} ms downtime, {4} rounds, {5} bytes sent); handing the entity over",
                _id, target, info.TotalMs, info.DowntimeMs, info.Round, info.WireBytes);
        }
        Become(Leaving);
    }

    /// <summary>Moved away: lifecycle commands wait for the shard hand-off, which passes them on to the VM's new host.</summary>
    private void Leaving()
    {
        Command<IVmCommand>(VmState.IsLifecycle, _ => Stash.Stash());
        Command<MigrateVm>(_ => Sender.Tell(new NotAllowed(_id, $"VM has just moved to {_state.Owner}")));
        Command<MigrationHandOff>(_ => OnHandOff(restartOnNewHost: true));
        Common(settle: null);
    }

    /// <summary>
    /// On a migration's target host: waits for the guest of <paramref name="incoming"/> (taken from this host's
    /// <see cref="IncomingMigrations"/>); lifecycle commands wait.
    /// </summary>
    private void Adopting(IncomingMigration incoming)
    {
        Command<AdoptionReady>(r => r.MigrationId == incoming.MigrationId, r =>
            OnAdoptionReady(incoming, r.Arrived ? incoming.Arrival.Result : null));
        Command<IVmCommand>(VmState.IsLifecycle, _ => Stash.Stash());
        Command<MigrateVm>(m => OnMigrate(m, streamable: false));
        Common(settle: null);
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
            _consoleSeededFrom = incoming.MigrationId;
        }
    }

    /// <summary>On a migration's target host: takes the incoming migration of this VM out of the registry, if any.</summary>
    private IncomingMigration? TakeIncoming() =>
        _hosting is null ? null : IncomingMigrations.Get(Context.System).TryTake(_id);

    /// <summary>Waits (off the actor thread) for the guest of <paramref name="incoming"/>; its arrival comes back as <see cref="AdoptionReady"/>.</summary>
    private void StartAdopting(IncomingMigration incoming)
    {
        var runLog = _hosting!.RunLog;
        var id = _id;
        // As long as the receiver may take: a target whose commit outcome is unknown keeps the guest paused while it reads the
        // journal (up to max-duration), and an entity that gave up before would boot the VM cold beside it.
        incoming.Arrival.WaitAsync(MigrationTunables.MaxDuration).ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully)
                return new AdoptionReady(incoming.MigrationId, true);
            // Too late: a guest that still arrives is nobody's and is dropped.
            incoming.Arrival.ContinueWith(late => Discard(id, late.Result, runLog), TaskScheduler.Default);
            return new AdoptionReady(incoming.MigrationId, false);
        }, TaskScheduler.Default).PipeTo(Self);
        Become(() => Adopting(incoming));
        Stash.UnstashAll();
    }

    private void OnAdoptionReady(IncomingMigration incoming, ParkedGuest? guest)
    {
        if (guest is not null && _state.IsActive && _myEpoch == 0 && _state.Owner == _settings.Node
            && _state.Epoch == incoming.ExpectedEpoch + 1)
        {
            _myEpoch = _state.Epoch;
            if (_consoleSeededFrom != incoming.MigrationId && incoming.ConsoleHistory is { Length: > 0 } history)
                _console.Tell(new SerialChunk(history));
            _supervisor = Context.Watch(Context.ActorOf(
                VcpuSupervisor.Adopt(_state.Spec!, guest, _factory, _console, _hosting), $"vcpus-{++_boots}"));
            if (_state.Status == VmStatus.Paused)
                _supervisor.Tell(PauseVcpus.Instance);
            _log.Info("VM {0}: adopted the guest migrated here (epoch {1})", _id, _myEpoch);
            Settle();
            return;
        }
        Discard(_id, guest, _hosting?.RunLog);
        if (_state.IsActive && _myEpoch == 0)
            ColdBootAfterRecovery();
        else
            Settle();
    }

    /// <summary>
    /// After a node restart: takes over the guest that still runs here in its VMM worker when the journal says this
    /// node owns the VM with the epoch the worker was started under (no boot, the console goes on from the worker's
    /// history); a worker of another epoch (the VM moved or restarted elsewhere meanwhile) is stopped. False when
    /// nothing was re-attached (the caller boots cold if the VM should run).
    /// </summary>
    private bool TryReattach()
    {
        if (HeldGuests.Get(Context.System).Take(_id) is { } held)
            return TryTakeBack(held);
        if (_factory.Reattach(_id) is not { } found)
            return false;
        if (!_state.IsActive || _state.Owner != _settings.Node || _state.Epoch != found.Epoch || _state.Spec is null)
        {
            _log.Warning("VM {0}: a guest of epoch {1} still ran here, but the journal says {2} on {3} (epoch {4}); stopping it",
                _id, found.Epoch, _state.Status, _state.Owner ?? "no host", _state.Epoch);
            found.Guest.Stop();
            _hosting?.RunLog?.End(_id);
            found.Guest.Dispose();
            return false;
        }
        _myEpoch = found.Epoch;
        if (found.ConsoleHistory.Length > 0)
            _console.Tell(new SerialChunk(found.ConsoleHistory));
        _supervisor = Context.Watch(Context.ActorOf(
            VcpuSupervisor.Adopt(_state.Spec, new ParkedGuest(found.Guest), _factory, _console, _hosting), $"vcpus-{++_boots}"));
        if (_state.Status == VmStatus.Paused)
            _supervisor.Tell(PauseVcpus.Instance);
        else
            _supervisor.Tell(ResumeVcpus.Instance);
        _log.Info("VM {0}: re-attached to its guest still running here (epoch {1})", _id, _myEpoch);
        return true;
    }

    /// <summary>
    /// After a journal fault: takes back the guest the previous incarnation held running here, when the journal (read
    /// again) still gives the VM to this node under the epoch it ran with; otherwise (the failed write did land and
    /// stopped or moved the VM, or another host claimed it meanwhile) the guest is stopped. False when nothing was taken.
    /// </summary>
    private bool TryTakeBack(HeldGuest held)
    {
        if (!_state.IsActive || _state.Owner != _settings.Node || _state.Epoch != held.Epoch || _state.Spec is null)
        {
            _log.Warning("VM {0}: its guest was held (epoch {1}) through a journal fault, but the journal says {2} on {3} (epoch {4}); stopping it",
                _id, held.Epoch, _state.Status, _state.Owner ?? "no host", _state.Epoch);
            Discard(_id, held.Parked, _hosting?.RunLog);
            return false;
        }
        _myEpoch = held.Epoch;
        _supervisor = Context.Watch(Context.ActorOf(
            VcpuSupervisor.Adopt(_state.Spec, held.Parked, _factory, _console, _hosting), $"vcpus-{++_boots}"));
        _supervisor.Tell(_state.Status == VmStatus.Paused ? PauseVcpus.Instance : ResumeVcpus.Instance);
        _log.Info("VM {0}: took back its guest, held running through a journal fault (epoch {1})", _id, _myEpoch);
        return true;
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

    /// <summary>
    /// Boots the VM cold as the journal says (or settles). A failover (the VM's owner is another host: it died or was downed)
    /// first waits, with every command stashed, for the old owner's host lease to run out by the database's clock, or, when
    /// that owner's incarnation is an Up member, for it to release the VM (<see cref="OwnerLeaseWait"/>): a host that is only
    /// stalled or cut off still counts its guests' permits within that lease, and a live one stops what it still runs of
    /// the VM outside a VM actor first, so no guest runs on two hosts at once.
    /// </summary>
    private void ColdBootAfterRecovery(bool ownerLeaseChecked = false)
    {
        var decision = _state.DecideColdBoot(_settings.Node, DateTime.UtcNow, _settings.MaxRelocations, _settings.RelocationWindow);
        if (decision.Events.Count == 0)
        {
            Settle();
            return;
        }
        if (!ownerLeaseChecked && _hosting is not null && _state.Owner is { } owner && owner != _settings.Node
            && decision.Events.Any(e => e is VmStarted or VmRestarted) && HostLeases.Get(Context.System).Store is { } store)
        {
            Context.ActorOf(OwnerLeaseWait.Props(store, _id, owner, _state.Epoch, _settings.Node), "owner-lease-wait");
            Become(() =>
            {
                Command<OwnerLeaseGone>(_ => ColdBootAfterRecovery(ownerLeaseChecked: true));
                Command<object>(_ => Stash.Stash());
            });
            return;
        }
        PersistAndAct(decision.Events, null, () => Settle());
    }

    /// <summary>
    /// The shard hands the entity over: pass held-back commands on to the region (they reach the new host), then stop;
    /// an entity whose VM moved also starts the entity on its new host.
    /// </summary>
    private void OnHandOff(bool restartOnNewHost)
    {
        if (_hosting is not null)
        {
            var region = ClusterSharding.Get(Context.System).ShardRegion(VmMessageExtractor.TypeName);
            foreach (var envelope in Stash.ClearStash())
                region.Tell(envelope.Message, envelope.Sender);
            if (restartOnNewHost)
                region.Tell(new ShardRegion.StartEntity(_id));
        }
        Context.Stop(Self);
    }

    /// <summary>
    /// The source side of a migration as the VM actor keeps it: its child, the supervisor released at the commit (stopped
    /// once the VM left), and the supervisor paused by a fence pause meanwhile (resumed by the fence resume).
    /// </summary>
    private sealed record Outgoing(IActorRef Child, IActorRef? Released, IActorRef? FencePaused);
}
