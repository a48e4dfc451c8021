using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Cluster.Actors.Clustering;
using Cluster.Actors.Devices;
using Cluster.Actors.Runtime;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Hosts;
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
/// Fencing: an incarnation persists a <see cref="VmOwnerClaimed"/> with the next epoch (in the same write)
/// before it first boots the guest. As a
/// cluster entity (<see cref="VmHosting"/> given) a running VM reads its journal every fence-check
/// interval; a claim with a higher epoch means another host owns the VM now, so this one stops its
/// guest and refuses every command from then on. A fence pause (the node lost the majority) pauses the
/// vCPUs without recording anything, since the journal now belongs to the majority.
/// Live migration (the source side, and the adoption of a migrated guest on the target) is in VmActor.Migration.cs.
/// </remarks>
public sealed partial class VmActor : ReceivePersistentActor, IWithTimers
{
    private readonly string _id;
    private readonly IGuestRuntimeFactory _factory;
    private readonly VmActorSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _console;
    private VmState _state;
    private readonly VmHosting? _hosting;
    private IActorRef? _supervisor;
    private int _boots;
    private long _myEpoch;
    private bool _claiming;
    private int _pendingPersists;
    private bool _probing;
    private bool _fencePaused;
    private VmOwnerClaimed? _fencedBy;

    public VmActor(string id, IGuestRuntimeFactory factory, VmActorSettings settings, VmHosting? hosting = null)
    {
        _id = id;
        _factory = factory;
        _settings = settings;
        _hosting = hosting;
        _state = VmState.Absent with { EventsKept = settings.EventsKept };
        _console = Context.ActorOf(SerialConsoleActor.Props(id, settings.ConsoleBufferBytes), "console");
        SeedConsoleFromIncoming();

        Recover<VmEvent>(e => _state = _state.Apply(e));
        Recover<SnapshotOffer>(o => _state = VmState.FromSnapshot((VmSnapshot)o.Snapshot, settings.EventsKept));
        Recover<RecoveryCompleted>(_ => Self.Tell(RecoveredBoot.Instance));

        Command<RecoveredBoot>(_ =>
        {
            if (_state.Exists && _state.Spec is not null)
                _hosting?.Agent.Tell(new VmHosted(_state.Spec, Self));
            var busy = _pendingPersists > 0;
            if (_state.Migration is { Committed: false } dangling)
                PersistAndAct([new VmMigrationFailed(_id, DateTime.UtcNow, "the source restarted before the commit", dangling.MigrationId,
                    dangling.To, Cancelled: false)], null);
            if (_state.IsActive && _myEpoch == 0 && !busy && !TryAdopt())
                ColdBootAfterRecovery();
        });
        Command<IVmCommand>(_ => _fencedBy is not null, _ =>
            Sender.Tell(new NotAllowed(_id, $"fenced: VM {_id} is owned by {_fencedBy!.Host} (epoch {_fencedBy.Epoch})")));
        MigrationCommands();
        Command<FenceTick>(_ => CheckFence());
        Command<NewerEvents>(n => OnNewerEvents(n.Events));
        Command<FencePause>(_ =>
        {
            if (_supervisor is null || _fencePaused)
                return;
            _log.Warning("VM {0}: fence pause (this node lost the majority)", _id);
            _fencePaused = true;
            _supervisor.Tell(PauseVcpus.Instance);
        });
        Command<FenceResume>(_ =>
        {
            if (!_fencePaused)
                return;
            _fencePaused = false;
            if (_state.Status == VmStatus.Running && _fencedBy is null)
                _supervisor?.Tell(ResumeVcpus.Instance);
        });
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
        Command<IVmCommand>(c => Handle(_state.Decide(c, DateTime.UtcNow), Sender));
        Command<GuestExited>(e => Equals(e.Supervisor, _supervisor), e =>
        {
            ForgetSupervisor();
            Handle(_state.DecideExit(e.Exit, DateTime.UtcNow), null);
        });
        Command<GuestBootFailed>(e => Equals(e.Supervisor, _supervisor), e =>
        {
            ForgetSupervisor();
            Handle(_state.DecideBootFailure(e.Reason, DateTime.UtcNow), null);
        });
        Command<DisksBound>(b => Equals(b.Supervisor, _supervisor), b =>
        {
            if (_state.BindDisks(b.Identities, DateTime.UtcNow) is { } bound)
                PersistAndAct([bound], null);
        });
        Command<Terminated>(t =>
        {
            if (!Equals(t.ActorRef, _supervisor))
                return;
            _supervisor = null;
            Handle(_state.DecideExit(new GuestExit(true, "vCPU supervisor stopped unexpectedly"), DateTime.UtcNow), null);
        });
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => _log.Warning("VM {0}: snapshot failed: {1}", _id, f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
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
        _outgoing?.Cancellation.Cancel();
        if (_outgoing is { Streaming: false } notStreaming)
            notStreaming.MachineReturned.TrySetResult();
        _hosting?.Agent.Tell(new VmUnhosted(_id, Self));
        base.PostStop();
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
        if (_hosting is not null && !_state.Exists && _pendingPersists == 0)
            StopEntity();
    }

    /// <summary>Starts a journal read for events after ours, when the guest runs and no write of ours is in flight.</summary>
    private void CheckFence()
    {
        if (_probing || _fencedBy is not null || _myEpoch == 0 || _pendingPersists > 0 || _supervisor is null || _outgoing is not null || _leaving)
            return;
        _probing = true;
        Context.ActorOf(FenceProbe.Props(PersistenceId, LastSequenceNr + 1));
    }

    private void OnNewerEvents(IReadOnlyList<VmEvent> events)
    {
        _probing = false;
        if (_outgoing is not null || _leaving || VmState.NewerClaim(events, _myEpoch) is not { } claim)
            return;
        _fencedBy = claim;
        _log.Warning("VM {0}: fenced by epoch {1} on {2} (mine is {3}); stopping the guest here", _id, claim.Epoch, claim.Host, _myEpoch);
        StopSupervisor(graceful: false);
        _hosting?.Agent.Tell(new VmUnhosted(_id, Self));
    }

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(_ => Directive.Stop);

    private void ToConsole(IVmCommand command)
    {
        if (_state.Spec is null || _state.Status is VmStatus.Deleted)
            Sender.Tell(new VmNotFound(_id));
        else
            _console.Forward(command);
    }

    private void Handle(VmDecision decision, IActorRef? replyTo)
    {
        if (decision.Refusal is not null)
        {
            replyTo?.Tell(decision.Refusal);
            PassivateIfAbsent();
        }
        else if (decision.Events.Count == 0)
            replyTo?.Tell(new VmCommandAccepted(_id, _state.Status));
        else
            PersistAndAct(decision.Events, replyTo);
    }

    /// <summary>
    /// Persists <paramref name="events"/> then acts on them. The first boot of this incarnation is preceded
    /// by an ownership claim with the next epoch, in the same atomic write.
    /// </summary>
    private void PersistAndAct(IReadOnlyList<VmEvent> events, IActorRef? replyTo)
    {
        if (_myEpoch == 0 && !_claiming && events.Any(e => e is VmStarted or VmRestarted))
        {
            _claiming = true;
            events = [_state.Claim(_id, _settings.Node, DateTime.UtcNow), .. events];
        }
        var last = events[^1];
        _pendingPersists += events.Count;
        PersistAll(events, e =>
        {
            _pendingPersists--;
            _state = _state.Apply(e);
            Act(e);
            if (LastSequenceNr % _settings.SnapshotEvery == 0)
                SaveSnapshot(_state.ToSnapshot());
            if (!ReferenceEquals(e, last))
                return;
            replyTo?.Tell(new VmCommandAccepted(_id, _state.Status));
            if (e is VmDeleted)
                StopEntity();
        });
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
            case VmStarted or VmRestarted:
                StopSupervisor(graceful: false);
                _fencePaused = false;
                _supervisor = Context.Watch(Context.ActorOf(
                    VcpuSupervisor.Props(_state.Spec!, _factory, _console, _hosting), $"vcpus-{++_boots}"));
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
            case VmDisksBound:
                AnnounceSpec();
                break;
            case VmDeleted:
                StopSupervisor(graceful: false);
                _hosting?.Agent.Tell(new VmUnhosted(_id, Self));
                break;
        }
    }

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

    private sealed class FenceTick
    {
        public static FenceTick Instance { get; } = new();
    }
}
