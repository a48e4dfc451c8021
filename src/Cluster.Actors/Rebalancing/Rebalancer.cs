using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.Persistence;
using Cluster.Actors.Migration;
using Cluster.Actors.Placement;
using Cluster.Contracts;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;

namespace Cluster.Actors.Rebalancing;

/// <summary>
/// The rebalancer, a persistent cluster singleton (persistence id <c>rebalancer</c>). Every interval it reads
/// this node's <see cref="PlacementBoard"/>, tracks how long the imbalance stays above the threshold and asks
/// the <see cref="RebalancePlanner"/> for moves: drain moves always (an operator asked for them, in every
/// mode), rebalance moves once the imbalance has held above the threshold for the hold time (mode recommend
/// keeps them for <see cref="GetRebalanceStatus"/>; automatic starts them). A move is a live migration only:
/// a <see cref="MigrateVm"/> to the "vm" region, followed on <see cref="MigrationTopics.Progress"/>; a failed
/// one backs off and is planned again later. It persists mode changes, drains and every decision with its
/// inputs, and publishes the drained hosts as <see cref="UnschedulableHosts"/> to every node.
/// </summary>
public sealed class Rebalancer : ReceivePersistentActor, IWithTimers
{
    /// <summary>The singleton's name.</summary>
    public const string Name = "rebalancer";

    private readonly RebalanceSettings _settings;
    private readonly PlacementSettings _placement;
    private readonly IActorRef _region;
    private readonly IActorRef _mediator;
    private readonly PlacementBoard _board = PlacementBoard.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly MoveTracker _moves;
    private RebalancerState _state;
    private RebalancePlan _plan = new(new Dictionary<string, double>(), 0, 0, [], new Dictionary<string, IReadOnlyDictionary<string, string>>());
    private List<PlannerHost> _hosts = [];
    private DateTime? _aboveSince;
    private string _stuckShown = "";
    private string _recommended = "";
    private DateTime _recommendedAt = DateTime.MinValue;

    public Rebalancer(RebalanceSettings settings, PlacementSettings placement, IActorRef region, IActorRef mediator)
    {
        (_settings, _placement, _region, _mediator) = (settings, placement, region, mediator);
        _moves = new MoveTracker(settings);
        _state = RebalancerState.Initial(settings.Mode);
        Recover<IRebalancerEvent>(e => _state = _state.Apply(e));
        Recover<SnapshotOffer>(o => _state = RebalancerState.FromSnapshot((RebalancerSnapshot)o.Snapshot));
        Recover<RecoveryCompleted>(_ => Started());
        Command<Tick>(_ => Evaluate());
        Command<GetRebalanceStatus>(_ => Sender.Tell(Status()));
        Command<SetRebalanceMode>(SetMode);
        Command<DrainHost>(Drain);
        Command<UndrainHost>(Undrain);
        Command<MigrationAccepted>(a => _moves.Accepted(a.VmId, a.MigrationId));
        Command<NotAllowed>(n => MoveRefused(n.VmId, $"refused: {n.Reason}"));
        Command<MigrationInfo>(Progress);
        Command<IWithVmId>(other => MoveRefused(other.VmId, $"refused: {other.GetType().Name}"));
        Command<SubscribeAck>(_ => { });
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => _log.Warning("Rebalancer: snapshot failed: {0}", f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning("Rebalancer: deleting old snapshots failed: {0}", f.Cause.Message));
    }

    /// <inheritdoc />
    public override string PersistenceId => Name;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props; <paramref name="mediator"/> is the distributed pub-sub mediator (a probe in tests).</summary>
    public static Props Props(RebalanceSettings settings, PlacementSettings placement, IActorRef region, IActorRef mediator) =>
        Akka.Actor.Props.Create(() => new Rebalancer(settings, placement, region, mediator));

    private void Started()
    {
        _mediator.Tell(new Subscribe(MigrationTopics.Progress, Self));
        PublishUnschedulable();
        Timers.StartPeriodicTimer(Tick.Instance, Tick.Instance, _settings.Interval);
        _log.Info("Rebalancer started: mode {0}, drained hosts [{1}]", _state.Mode, string.Join(", ", _state.Drained));
    }

    private void Evaluate()
    {
        var now = DateTime.UtcNow;
        var views = _board.Views(_placement.PendingFor);
        // On a host for the move tracker: running there with its load measured (a host lists an arriving VM before it runs there).
        bool IsOn(string vm, string host) => views.Any(h => h.Host == host && h.Vms.Any(v => v.VmId == vm && v.CpuLoad > 0));
        foreach (var late in _moves.Tick(now, IsOn))
            _log.Warning("Rebalancer: move of {0} from {1} to {2} timed out; it will be retried later", late.VmId, late.From, late.To);
        var hosts = _hosts = RebalanceView.PlannerHosts(views, _state.Drained, _board.DecisionFor, _moves.DirtyRate);
        var held = _moves.HeldReasons(now);
        var (_, imbalance) = RebalancePlanner.Measure(hosts, _moves.Pending);
        _aboveSince = imbalance > _settings.Threshold ? _aboveSince ?? now : null;
        // No rebalance move while a completed one settles: until its target reports the VM running, that host looks
        // lighter than it is and the plan would move a second VM there.
        var settling = _moves.Pending.Any(p => !p.Active);
        var rebalance = _state.Mode != RebalanceMode.Off && !settling && _aboveSince is { } since && now - since >= _settings.Hold;
        _plan = RebalancePlanner.Plan(new RebalanceInput(hosts, _moves.Pending, _moves.History, held.Keys.ToHashSet(StringComparer.Ordinal), now),
            _settings, _placement, rebalance);
        ShowStuck(held);
        var start = _plan.Steps.Where(s => s.Trigger == MigrationTrigger.Drain || _state.Mode == RebalanceMode.Automatic).ToList();
        if (start.Count > 0)
            Persist(Decision(start, started: true, now), e => StartMoves(start, e, now));
        else if (_state.Mode == RebalanceMode.Recommend && _plan.Steps.Count > 0 && Recommendation() is var plan && plan != _recommended
                 && now - _recommendedAt >= _settings.CoolDown)
        {
            // A changed recommendation is recorded at most once per cool-down, so noisy loads do not flood the journal.
            (_recommended, _recommendedAt) = (plan, now);
            Persist(Decision(_plan.Steps, started: false, now), Persisted);
        }
        PublishUnschedulable();
    }

    private RebalanceDecided Decision(IReadOnlyList<PlanStep> steps, bool started, DateTime now) => new(now,
        steps.Any(s => s.Trigger == MigrationTrigger.Drain) ? MigrationTrigger.Drain : MigrationTrigger.Rebalance,
        Hosts(), _plan.Imbalance, _settings.Threshold, [.. steps.Select(s => s.Move)], started);

    private string Recommendation() => string.Join(";", _plan.Steps.Select(s => $"{s.Move.VmId}>{s.Move.To}"));

    private void StartMoves(IReadOnlyList<PlanStep> steps, RebalanceDecided decision, DateTime now)
    {
        Persisted(decision);
        foreach (var step in steps)
        {
            var move = step.Move;
            _moves.Started(move, step.Trigger, now);
            var inputs = new Dictionary<string, string>(step.Inputs, StringComparer.Ordinal)
            {
                ["mode"] = _state.Mode.ToString(),
                ["decided-at"] = now.ToString("O"),
                ["imbalance.above-threshold-since"] = _aboveSince?.ToString("O") ?? "not above",
                ["hold"] = _settings.Hold.ToString(),
            };
            _region.Tell(new MigrateVm(move.VmId, move.To, _settings.Limits, new MigrationCause(step.Trigger, move.Summary, inputs)));
            _log.Info("Rebalancer: {0} {1} from {2} to {3} (gain {4:0.000}, cost {5:0.00} s)",
                step.Trigger == MigrationTrigger.Drain ? "draining" : "moving", move.VmId, move.From, move.To, move.Gain, move.Cost);
        }
    }

    private void ShowStuck(IReadOnlyDictionary<string, string> held)
    {
        var shown = string.Join("\n", _plan.Stuck.SelectMany(h => h.Value.Select(v => $"{h.Key} {v.Key}: {v.Value}"))
            .Concat(held.Select(h => $"{h.Key}: {h.Value}")));
        if (shown == _stuckShown)
            return;
        _stuckShown = shown;
        foreach (var (host, vms) in _plan.Stuck)
        {
            foreach (var (vm, reason) in vms)
                _log.Warning("Rebalancer: drain of {0} is stuck: VM {1} fits no other host ({2})", host, vm, reason);
        }
        foreach (var (vm, reason) in held)
            _log.Warning("Rebalancer: VM {0} is held back after a failed move ({1})", vm, reason);
    }

    private void Progress(MigrationInfo info)
    {
        _moves.Observe(info);
        if (_moves.Progress(info, DateTime.UtcNow) is not { } ended)
            return;
        if (ended.Completed)
            _log.Info("Rebalancer: {0} moved from {1} to {2}", ended.Move.VmId, ended.Move.From, ended.Move.To);
        else
            _log.Warning("Rebalancer: move of {0} to {1} ended {2}: {3}; retried later", info.VmId, info.Target, info.State, info.FailureReason);
    }

    private void MoveRefused(string vmId, string reason)
    {
        if (_moves.Refused(vmId, reason, DateTime.UtcNow) is { } move)
            _log.Warning("Rebalancer: move of {0} to {1} {2}; retried later", vmId, move.To, reason);
    }

    private void SetMode(SetRebalanceMode set)
    {
        if (set.Mode == _state.Mode)
        {
            Sender.Tell(Status());
            return;
        }
        var sender = Sender;
        Persist(new RebalanceModeChanged(set.Mode, DateTime.UtcNow), e =>
        {
            Persisted(e);
            (_recommended, _recommendedAt) = ("", DateTime.MinValue);
            _log.Info("Rebalancer: mode {0}", e.Mode);
            sender.Tell(Status());
        });
    }

    private void Drain(DrainHost drain)
    {
        var known = _board.Hosts().Select(h => h.Host).ToList();
        if (!known.Contains(drain.Host) && !_state.Drained.Contains(drain.Host))
        {
            Sender.Tell(new HostNotFound(drain.Host, known));
            return;
        }
        var vms = _board.Views(_placement.PendingFor).Where(h => h.Host == drain.Host).SelectMany(h => h.Vms.Select(v => v.VmId)).ToList();
        var sender = Sender;
        if (_state.Drained.Contains(drain.Host))
        {
            sender.Tell(new DrainStarted(drain.Host, vms));
            return;
        }
        Persist(new HostDrainBegan(drain.Host, DateTime.UtcNow), e =>
        {
            Persisted(e);
            PublishUnschedulable();
            _log.Info("Rebalancer: draining {0} ({1} VMs)", e.Host, vms.Count);
            sender.Tell(new DrainStarted(e.Host, vms));
            Self.Tell(Tick.Instance);
        });
    }

    private void Undrain(UndrainHost undrain)
    {
        if (!_state.Drained.Contains(undrain.Host))
        {
            var known = _board.Hosts().Select(h => h.Host).ToList();
            Sender.Tell(known.Contains(undrain.Host) ? new HostUndrained(undrain.Host) : new HostNotFound(undrain.Host, known));
            return;
        }
        var sender = Sender;
        Persist(new HostDrainEnded(undrain.Host, DateTime.UtcNow), e =>
        {
            Persisted(e);
            PublishUnschedulable();
            _log.Info("Rebalancer: {0} takes new VMs again", e.Host);
            sender.Tell(new HostUndrained(e.Host));
        });
    }

    private void Persisted(IRebalancerEvent e)
    {
        _state = _state.Apply(e);
        if (LastSequenceNr % _settings.SnapshotEvery == 0)
            SaveSnapshot(_state.ToSnapshot());
    }

    /// <summary>Tells every node's HostDirectory (this node's too) the drained hosts; it sets them on its board.</summary>
    private void PublishUnschedulable()
    {
        _mediator.Tell(new Publish(RebalancerTopics.Unschedulable, new UnschedulableHosts([.. _state.Drained])));
    }

    private RebalanceStatus Status() => new(_state.Mode, _plan.Imbalance, _settings.Threshold, _aboveSince, Hosts(),
        [.. _plan.Steps.Select(s => s.Move)], _moves.InFlightMoves, _moves.MovesMade, RebalanceBound.FewestMoves(_hosts));

    private List<RebalanceHost> Hosts() => RebalanceView.StatusHosts(_plan, _hosts, _state.Drained, _moves.Refusals(DateTime.UtcNow));

    private sealed class Tick
    {
        public static Tick Instance { get; } = new();
    }
}
