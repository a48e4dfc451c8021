using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using Cluster.Actors.Clustering;
using Cluster.Actors.Devices;
using Cluster.Actors.Leases;
using Cluster.Actors.Runtime;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Vms;

/// <summary>
/// One VM as a persistent entity (persistence id <c>vm-{id}</c>, addressed by id, ready to become a
/// sharded entity). A thin shell around <see cref="VmState"/>: it decides, persists, applies, then acts
/// on its children: the <see cref="SerialConsoleActor"/> (for the VM's life) and one
/// <see cref="VcpuSupervisor"/> per boot. On recovery a VM the journal says is running or paused boots
/// again cold (and runs: a cold boot has nothing to stay paused on), recorded as a VmStarted event.
/// </summary>
/// <remarks>
/// Its behaviours (see Vms/README.md for the diagram):
/// <list type="bullet">
/// <item>Recovering: until the journal is read; every command waits in the stash.</item>
/// <item>Idle: no guest here (defined, stopped, crashed, or not yet created).</item>
/// <item>Running: a vCPU supervisor runs the guest (running or paused by command).</item>
/// <item>FencePaused: Running, with the vCPUs paused because this node lost the majority (nothing recorded).</item>
/// <item>Fenced: another host claimed the VM with a higher epoch; every command is refused.</item>
/// <item>Migrating, Leaving, Adopting: live migration, in VmActor.Migration.cs.</item>
/// </list>
/// Fencing: an incarnation persists a <see cref="VmOwnerClaimed"/> with the next epoch (in the same write)
/// before it first boots the guest. As a cluster entity (<see cref="VmHosting"/> given) a running VM reads its
/// journal every fence-check interval (a <see cref="FenceProbe"/> child, one at a time); a claim with a higher
/// epoch means another host owns the VM now, so this one stops its guest and becomes Fenced.
/// </remarks>
public sealed partial class VmActor : ReceivePersistentActor, IWithTimers
{
    private const string FenceProbeName = "fence-probe";
    private const string RestartTimer = "restart";

    private readonly string _id;
    private readonly IGuestRuntimeFactory _factory;
    private readonly VmActorSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _console;
    private readonly VmHosting? _hosting;
    private VmState _state;
    private IActorRef? _supervisor;
    private int _boots;

    /// <summary>Who waits for the write in flight (told if it fails).</summary>
    private IActorRef? _awaitingWrite;

    /// <summary>The epoch this incarnation owns the VM under (0 until it claimed, adopted or re-attached it).</summary>
    private long _myEpoch;

    /// <summary>The guest's run permit lapsed and ownership has not been confirmed since (the guest stays paused).</summary>
    private bool _lapsePending;

    /// <summary>A journal read failed or timed out and none has confirmed ownership since (the guest stays fence-paused).</summary>
    private bool _unconfirmed;

    public VmActor(string id, IGuestRuntimeFactory factory, VmActorSettings settings, VmHosting? hosting = null)
    {
        _id = id;
        _factory = factory;
        _settings = settings;
        _hosting = hosting;
        _state = VmState.Absent with { EventsKept = settings.EventsKept };
        _console = Context.ActorOf(SerialConsoleActor.Props(id, settings.ConsoleBufferBytes, settings.Console), "console");
        SeedConsoleFromIncoming();

        Recover<VmEvent>(e => _state = _state.Apply(e));
        Recover<SnapshotOffer>(o => _state = VmState.FromSnapshot((VmSnapshot)o.Snapshot, settings.EventsKept));
        Recover<RecoveryCompleted>(_ => Self.Tell(RecoveredBoot.Instance));
        Recovering();
    }

    public override string PersistenceId => $"vm-{_id}";

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, IGuestRuntimeFactory factory, VmActorSettings settings, VmHosting? hosting = null) =>
        Akka.Actor.Props.Create(() => new VmActor(id, factory, settings, hosting));

    protected override void PreStart()
    {
        base.PreStart();
        if (_hosting is not null)
            Timers.StartPeriodicTimer("fence", FenceTick.Instance, _hosting.FenceCheckInterval);
    }

    protected override void PostStop()
    {
        _hosting?.Agent.Tell(new VmUnhosted(_id, Self));
        base.PostStop();
    }

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(_ => Directive.Stop);

    /// <summary>The journal is read; commands (delivered during recovery, then here) wait for the boot decision.</summary>
    private void Recovering()
    {
        Command<RecoveredBoot>(_ =>
        {
            HeldGuests.Get(Context.System).Cleared(_id);
            if (_state.Exists && _state.Spec is not null)
                _hosting?.Agent.Tell(new VmHosted(_state.Spec, Self));
            if (_state.Migration is { Committed: false } dangling)
                PersistAndAct([new VmMigrationFailed(_id, DateTime.UtcNow, "the source restarted before the commit", dangling.MigrationId,
                    dangling.To, Cancelled: false)], null);
            else if (_state.Migration is { Committed: true } committed && committed.To != _settings.Node && _hosting is not null)
            {
                LeaveAfterRecoveredCommit(committed);
                return;
            }
            if (!_state.IsActive || _myEpoch != 0 || TryReattach())
                Settle();
            else if (TakeIncoming() is { } incoming)
                StartAdopting(incoming);
            else
                ColdBootAfterRecovery();
        });
        Command<object>(_ => Stash.Stash());
    }

    /// <summary>No guest on this host: the VM is absent, defined, stopped or crashed.</summary>
    private void Idle()
    {
        Command<MigrateVm>(m => OnMigrate(m, streamable: false));
        Common(settle: () => Settle());
    }

    /// <summary>A vCPU supervisor runs the guest here (running, or paused by command).</summary>
    private void Running()
    {
        Command<MigrateVm>(m => OnMigrate(m, streamable: true));
        Command<FencePause>(_ =>
        {
            _log.Warning("VM {0}: fence pause (this node lost the majority)", _id);
            _supervisor!.Tell(PauseVcpus.Instance);
            Settle(fencePaused: _supervisor);
        });
        Fencing(fencePaused: false, minority: false);
        Common(settle: () => Settle());
    }

    /// <summary>
    /// Running, with the vCPUs of <paramref name="paused"/> paused without a record: the majority may restart the VM
    /// elsewhere (<paramref name="minority"/>: this node lost the majority, until the guard's FenceResume), or a journal read
    /// could not confirm this node still owns it (until a read does). A new boot (a new supervisor) ends it.
    /// </summary>
    private void FencePaused(IActorRef paused, bool minority)
    {
        Command<MigrateVm>(m => OnMigrate(m, streamable: false));
        Command<FencePause>(_ => Settle(fencePaused: paused, minority: true));
        Command<FenceResume>(_ =>
        {
            // Ownership not confirmed since a failed journal read: the guest waits for a read that confirms it (Fencing).
            if (_unconfirmed)
            {
                Settle(fencePaused: paused, minority: false);
                return;
            }
            // A guest whose permit lapsed meanwhile waits for the journal's confirmation (Fencing) instead.
            if (_state.Status == VmStatus.Running && !_lapsePending)
                _supervisor?.Tell(ResumeVcpus.Instance);
            Settle();
        });
        Fencing(fencePaused: true, minority: minority);
        Common(settle: () => Settle(fencePaused: paused, minority: minority));
    }

    /// <summary>Another host owns the VM (a claim with a higher epoch): the guest is stopped here and every command refused.</summary>
    private void Fenced(VmOwnerClaimed by)
    {
        Command<IVmCommand>(_ => Sender.Tell(new NotAllowed(_id, $"fenced: VM {_id} is owned by {by.Host} (epoch {by.Epoch})")));
        Command<MigrationHandOff>(_ => OnHandOff(restartOnNewHost: false));
        CommandAny(_ => { });
    }

    /// <summary>
    /// Running and FencePaused: the periodic journal read that detects a newer owner; and the guest whose run permit lapsed
    /// (this node was stalled, stopped or cut off for longer than the permit), paused by its VMM, which runs again only once a
    /// journal read after the lapse shows no newer claim and this node is an Up member that reaches every other (a node the
    /// cluster is downing does not), or at once on a single host.
    /// </summary>
    private void Fencing(bool fencePaused, bool minority)
    {
        Command<FenceTick>(_ => Probe());
        // The journal could not be read (an error, or no answer in time): this node cannot confirm it still owns the VM, so
        // the guest is fence-paused until a later read confirms it (the periodic probe goes on). It stopped silently before.
        Command<OwnershipUnconfirmed>(u =>
        {
            if (!_unconfirmed)
                _log.Warning("VM {0}: cannot confirm ownership ({1}); the guest is paused until a journal read confirms it", _id, u.Reason);
            _unconfirmed = true;
            if (fencePaused)
                return;
            _supervisor!.Tell(PauseVcpus.Instance);
            Settle(fencePaused: _supervisor, minority: false);
        });
        Command<GuestPermitLapsed>(l => Equals(l.Supervisor, _supervisor), _ =>
        {
            if (_hosting is null)
            {
                _supervisor!.Tell(ResumeAfterLapse.Instance);
                return;
            }
            _log.Warning("VM {0}: its run permit lapsed (this node was too slow to renew it); the guest stays paused until the journal " +
                         "confirms this node still owns it and the cluster is whole again", _id);
            _lapsePending = true;
            Probe();
        });
        Command<NewerEvents>(n =>
        {
            if (VmState.NewerClaim(n.Events, _myEpoch) is not { } claim)
            {
                if (_unconfirmed)
                {
                    _unconfirmed = false;
                    _log.Info("VM {0}: ownership confirmed again by the journal (epoch {1})", _id, _myEpoch);
                }
                // A lapsed permit is renewed only under this host's lease: until the keeper holds it again, the guest waits.
                if (_lapsePending && ClusterWhole() && HostLeases.Get(Context.System).View.Holds(TimeSpan.Zero))
                {
                    _lapsePending = false;
                    _log.Info("VM {0}: ownership confirmed after the lapsed permit (epoch {1}){2}", _id, _myEpoch,
                        fencePaused ? "; the guest waits for the fence pause to end" : "; the guest runs again");
                    if (!fencePaused)
                        _supervisor?.Tell(ResumeAfterLapse.Instance);
                }
                // Paused only because ownership could not be confirmed: it is now.
                if (fencePaused && !minority && !_lapsePending)
                {
                    if (_state.Status == VmStatus.Running)
                        _supervisor?.Tell(ResumeVcpus.Instance);
                    Settle();
                }
                return;
            }
            _log.Warning("VM {0}: fenced by epoch {1} on {2} (mine is {3}); stopping the guest here", _id, claim.Epoch, claim.Host, _myEpoch);
            StopSupervisor(graceful: false);
            _hosting?.Agent.Tell(new VmUnhosted(_id, Self));
            Become(() => Fenced(claim));
        });
    }

    /// <summary>Starts a journal read for a newer owner unless one runs.</summary>
    private void Probe()
    {
        if (_myEpoch != 0 && Context.Child(FenceProbeName).IsNobody())
            Context.ActorOf(FenceProbe.Props(PersistenceId, LastSequenceNr + 1), FenceProbeName);
    }

    /// <summary>Whether this node is an Up cluster member that reaches every other one (true outside a cluster).</summary>
    private bool ClusterWhole()
    {
        if (((ExtendedActorSystem)Context.System).Provider is not Akka.Cluster.ClusterActorRefProvider)
            return true;
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        return cluster.SelfMember.Status == Akka.Cluster.MemberStatus.Up && cluster.State.Unreachable.Count == 0;
    }

    /// <summary>
    /// What every behaviour past recovery (but Fenced) answers the same way: queries, the console, the guest's reports,
    /// the shard hand-off; then any other command is decided by <see cref="VmState"/>, and <paramref name="settle"/>
    /// (when given) picks the resting behaviour once its events are applied.
    /// </summary>
    private void Common(Action? settle)
    {
        Command<GetVm>(_ =>
        {
            Sender.Tell(_state.Describe(_id, _settings.Node));
            PassivateIfAbsent();
        });
        Command<GetVmEvents>(_ => Sender.Tell(new VmEventList(_id, _state.Events)));
        Command<ConsoleTail>(c => ToConsole(c));
        Command<ConsoleAttach>(c => ToConsole(c));
        Command<ConsoleDetach>(c => ToConsole(c));
        Command<ConsoleInput>(c =>
        {
            if (_state.Status != VmStatus.Running)
                Sender.Tell(new NotAllowed(_id, $"cannot type into a VM that is {_state.Status}"));
            else
            {
                _console.Tell(c);
                Sender.Tell(new VmCommandAccepted(_id, _state.Status));
            }
        });
        Command<CancelMigration>(_ => Sender.Tell(_state.DecideCancel(_id)));
        Command<IVmCommand>(c => Handle(_state.Decide(c, DateTime.UtcNow), Sender, settle));
        Command<GuestExited>(e => Equals(e.Supervisor, _supervisor), e =>
        {
            ForgetSupervisor();
            Handle(_state.DecideExit(e.Exit, DateTime.UtcNow), null, settle);
        });
        Command<GuestBootFailed>(e => Equals(e.Supervisor, _supervisor), e =>
        {
            ForgetSupervisor();
            Handle(_state.DecideBootFailure(e.Reason, DateTime.UtcNow), null, settle);
        });
        Command<Terminated>(t => Equals(t.ActorRef, _supervisor), _ =>
        {
            _supervisor = null;
            Handle(_state.DecideExit(new GuestExit(true, "vCPU supervisor stopped unexpectedly"), DateTime.UtcNow), null, settle);
        });
        Command<DisksBound>(b => Equals(b.Supervisor, _supervisor), b =>
        {
            if (_state.BindDisks(b.Identities, DateTime.UtcNow) is { } bound)
                PersistAndAct([bound], null);
        });
        Command<MigrationHandOff>(_ => OnHandOff(restartOnNewHost: false));
        // A restart's back-off ended: it boots if nothing (a stop, a delete, another restart) came in between.
        Command<RestartDue>(d =>
        {
            if (_supervisor is not null || _state.Restarts != d.Attempt || _state.Status is not (VmStatus.Running or VmStatus.Paused))
                return;
            Boot();
            if (_state.Status == VmStatus.Paused)
                _supervisor!.Tell(PauseVcpus.Instance);
            settle?.Invoke();
        });
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => _log.Warning("VM {0}: snapshot failed: {1}", _id, f.Cause.Message));
        // Late or out-of-place reports (a probe that raced a migration, a fence signal with no guest, an old supervisor).
        CommandAny(_ => { });
    }

    /// <summary>
    /// The resting behaviour for the state as it stands, then the held-back commands again: Running while a supervisor
    /// runs the guest here (FencePaused when that supervisor is <paramref name="fencePaused"/>), else Idle.
    /// </summary>
    private void Settle(IActorRef? fencePaused = null, bool minority = true)
    {
        if (_supervisor is null)
            Become(Idle);
        else if (fencePaused is not null && Equals(fencePaused, _supervisor))
            Become(() => FencePaused(fencePaused, minority));
        else
            Become(Running);
        Stash.UnstashAll();
    }

    /// <summary>
    /// A sharded entity asks its shard to passivate it (so remember-entities forgets it); a plain child stops.
    /// </summary>
    private void StopEntity()
    {
        if (_hosting is null)
            Context.Stop(Self);
        else
            Context.Parent.Tell(new Akka.Cluster.Sharding.Passivate(PoisonPill.Instance));
    }

    /// <summary>An entity started by a message for an id that has no VM does not stay (nor get remembered).</summary>
    private void PassivateIfAbsent()
    {
        if (_hosting is not null && !_state.Exists)
            StopEntity();
    }

    private void ToConsole(IVmCommand command)
    {
        if (_state.Spec is null || _state.Status is VmStatus.Deleted)
            Sender.Tell(new VmNotFound(_id));
        else
            _console.Forward(command);
    }

    private void Handle(VmDecision decision, IActorRef? replyTo, Action? then)
    {
        if (decision.Refusal is not null)
        {
            replyTo?.Tell(decision.Refusal);
            PassivateIfAbsent();
            then?.Invoke();
        }
        else if (decision.Events.Count == 0)
        {
            replyTo?.Tell(new VmCommandAccepted(_id, _state.Status));
            then?.Invoke();
        }
        else
            PersistAndAct(decision.Events, replyTo, then);
    }

    /// <summary>
    /// Persists <paramref name="events"/>, acts on each, then runs <paramref name="then"/>. The first boot of this
    /// incarnation is preceded by an ownership claim with the next epoch, in the same atomic write (commands wait
    /// while a write is in flight, so no second claim can start before the first is applied).
    /// </summary>
    private void PersistAndAct(IReadOnlyList<VmEvent> events, IActorRef? replyTo, Action? then = null)
    {
        if (_myEpoch == 0 && events.Any(e => e is VmStarted or VmRestarted))
            events = [_state.Claim(_id, _settings.Node, DateTime.UtcNow), .. events];
        var last = events[^1];
        _awaitingWrite = replyTo;
        PersistAll(events, e =>
        {
            if (ReferenceEquals(e, last))
                _awaitingWrite = null;
            _state = _state.Apply(e);
            Act(e);
            if (LastSequenceNr % _settings.SnapshotEvery == 0)
                SaveSnapshot(_state.ToSnapshot());
            if (!ReferenceEquals(e, last))
                return;
            replyTo?.Tell(new VmCommandAccepted(_id, _state.Status));
            if (e is VmDeleted)
                StopEntity();
            then?.Invoke();
        });
    }

    /// <summary>
    /// A journal write failed (its outcome unknown: the database may or may not have it) and Akka stops this actor
    /// next. The guest keeps running: its supervisor parks it in <see cref="HeldGuests"/> as it stops, and the VM's
    /// next incarnation, started after a back-off, takes it back once the journal reads again and still gives the VM to
    /// this node under this epoch (else it stops it). Whoever waits for the write is told.
    /// </summary>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        var delay = HeldGuests.Get(Context.System).Faulted(_id, _supervisor is null ? 0 : _myEpoch, _state.Status == VmStatus.Paused);
        _log.Error(cause, "VM {0}: the journal write of {1} (#{2}) failed; {3}; the VM is read again from its journal in {4:F1} s",
            _id, @event.GetType().Name, sequenceNr, _supervisor is null ? "no guest runs here" : "its guest keeps running, held", delay.TotalSeconds);
        _awaitingWrite?.Tell(new NotAllowed(_id,
            $"the journal write failed ({cause.Message}); the command's outcome is known once the journal reads again (retrying in {delay.TotalSeconds:F1} s)"));
        _awaitingWrite = null;
        RestartLater(delay);
    }

    /// <summary>The journal refused the write (nothing was stored): handled as a failed write, this actor stops and starts again.</summary>
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        OnPersistFailure(cause, @event, sequenceNr);
        Context.Stop(Self);
    }

    /// <summary>The journal cannot be read: Akka stops this actor; it is tried again after a back-off (a held guest stays held).</summary>
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        var delay = HeldGuests.Get(Context.System).Faulted(_id, 0, false);
        _log.Error(reason, "VM {0}: its journal cannot be read; trying again in {1:F1} s", _id, delay.TotalSeconds);
        RestartLater(delay);
    }

    /// <summary>
    /// Has this VM's actor started again after <paramref name="delay"/>: a sharded entity through its region; a VM
    /// manager's child by its parent, which sees the fault in <see cref="HeldGuests"/> when the child terminates.
    /// </summary>
    private void RestartLater(TimeSpan delay)
    {
        if (_hosting is null)
        {
            // The manager answers this VM's commands itself until it has started the next incarnation: whatever it
            // forwarded to this stopping actor would be lost.
            Context.Parent.Tell(new VmActorStopping(_id));
            return;
        }
        var region = ClusterSharding.Get(Context.System).ShardRegion(VmMessageExtractor.TypeName);
        Context.System.Scheduler.ScheduleTellOnce(delay, region, new ShardRegion.StartEntity(_id), ActorRefs.NoSender);
    }

    private void Act(VmEvent e)
    {
        switch (e)
        {
            case VmDefined defined:
                _hosting?.Agent.Tell(new VmHosted(defined.Spec, Self));
                break;
            case VmOwnerClaimed claim:
                _myEpoch = claim.Epoch;
                break;
            case VmStarted:
                StopSupervisor(graceful: false);
                Boot();
                break;
            case VmRestarted restarted:
                StopSupervisor(graceful: false);
                if (VmState.RestartBackoff(restarted.Attempt) is var delay && delay == TimeSpan.Zero)
                    Boot();
                else
                    Timers.StartSingleTimer(RestartTimer, new RestartDue(restarted.Attempt), delay);
                break;
            case VmPaused:
                _supervisor?.Tell(PauseVcpus.Instance);
                break;
            case VmResumed:
                _supervisor?.Tell(ResumeVcpus.Instance);
                break;
            case VmStopped stopped:
                StopSupervisor(graceful: !stopped.Forced);
                break;
            case VmCrashed:
                StopSupervisor(graceful: false);
                break;
            case VmDisksBound or VmSpecUpdated:
                AnnounceSpec();
                break;
            case VmDeleted:
                StopSupervisor(graceful: false);
                _hosting?.Agent.Tell(new VmUnhosted(_id, Self));
                break;
        }
    }

    private void Boot() =>
        _supervisor = Context.Watch(Context.ActorOf(
            VcpuSupervisor.Props(_state.Spec!, _factory, _console, _hosting, _myEpoch), $"vcpus-{++_boots}"));

    /// <summary>
    /// Tells this host's agent and the cluster's placement boards the VM's spec as it stands now (with its disks'
    /// identities), so a restart elsewhere (HA) or a move only goes where the same images are seen.
    /// </summary>
    private void AnnounceSpec()
    {
        if (_hosting is null || _state.Spec is not { } spec)
            return;
        _hosting.Agent.Tell(new VmHosted(spec, Self));
        _hosting.Scheduler?.Tell(new UpdatePlacement(spec, _settings.Node));
    }

    private void StopSupervisor(bool graceful)
    {
        _supervisor?.Tell(new StopVcpus(graceful));
        ForgetSupervisor();
    }

    private void ForgetSupervisor()
    {
        if (_supervisor is not null)
            Context.Unwatch(_supervisor);
        _supervisor = null;
    }

    private sealed class RecoveredBoot
    {
        public static RecoveredBoot Instance { get; } = new();
    }

    private sealed record RestartDue(int Attempt);

    private sealed class FenceTick
    {
        public static FenceTick Instance { get; } = new();
    }
}
