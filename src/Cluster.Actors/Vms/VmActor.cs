using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Cluster.Actors.Devices;
using Cluster.Actors.Runtime;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
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
public sealed class VmActor : ReceivePersistentActor
{
    private readonly string _id;
    private readonly IGuestRuntimeFactory _factory;
    private readonly VmActorSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _console;
    private VmState _state;
    private IActorRef? _supervisor;
    private int _boots;

    public VmActor(string id, IGuestRuntimeFactory factory, VmActorSettings settings)
    {
        _id = id;
        _factory = factory;
        _settings = settings;
        _state = VmState.Absent with { EventsKept = settings.EventsKept };
        _console = Context.ActorOf(SerialConsoleActor.Props(id, settings.ConsoleBufferBytes), "console");

        Recover<VmEvent>(e => _state = _state.Apply(e));
        Recover<SnapshotOffer>(o => _state = VmState.FromSnapshot((VmSnapshot)o.Snapshot, settings.EventsKept));
        Recover<RecoveryCompleted>(_ => Self.Tell(RecoveredBoot.Instance));

        Command<RecoveredBoot>(_ =>
        {
            if (_state.IsActive)
                PersistAndAct([new VmStarted(_id, DateTime.UtcNow, "cold boot after node restart")], null);
        });
        Command<GetVm>(_ => Sender.Tell(_state.Describe(_id, _settings.Node)));
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

    public static Props Props(string id, IGuestRuntimeFactory factory, VmActorSettings settings) =>
        Akka.Actor.Props.Create(() => new VmActor(id, factory, settings));

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
            replyTo?.Tell(decision.Refusal);
        else if (decision.Events.Count == 0)
            replyTo?.Tell(new VmCommandAccepted(_id, _state.Status));
        else
            PersistAndAct(decision.Events, replyTo);
    }

    private void PersistAndAct(IReadOnlyList<VmEvent> events, IActorRef? replyTo)
    {
        var last = events[^1];
        PersistAll(events, e =>
        {
            _state = _state.Apply(e);
            Act(e);
            if (LastSequenceNr % _settings.SnapshotEvery == 0)
                SaveSnapshot(_state.ToSnapshot());
            if (!ReferenceEquals(e, last))
                return;
            replyTo?.Tell(new VmCommandAccepted(_id, _state.Status));
            if (e is VmDeleted)
                Context.Stop(Self);
        });
    }

    private void Act(VmEvent e)
    {
        switch (e)
        {
            case VmStarted or VmRestarted:
                StopSupervisor(graceful: false);
                _supervisor = Context.Watch(Context.ActorOf(VcpuSupervisor.Props(_state.Spec!, _factory, _console), $"vcpus-{++_boots}"));
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
            case VmCrashed or VmDeleted:
                StopSupervisor(graceful: false);
                break;
        }
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
}
