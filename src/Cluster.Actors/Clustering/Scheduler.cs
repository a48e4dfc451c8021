using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Cluster.Actors.Placement;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Clustering;

/// <summary>
/// Admission control, as a cluster singleton: one place decides, one request at a time, so two
/// creations never take the same free capacity. A <see cref="CreateVm"/> gets a
/// <see cref="PlacementDecided"/> (recorded on this node's board and published to every node, where
/// the shard allocation strategy reads it) or a <see cref="PlacementRefused"/> naming the short resource.
/// A live migration reserves its target the same way (<see cref="ReserveMigrationTarget"/>: the decision moves to
/// the target) and ends with <see cref="EndMigrationReservation"/> (the decision is the target, or the source again).
/// A VM with disks is placed only where each image is seen (with its recorded identity): before deciding, the
/// scheduler asks the candidate hosts what they see at its paths (<see cref="IDiskProbe"/>, a short timeout) and
/// stashes other requests meanwhile.
/// </summary>
public sealed class Scheduler : ReceiveActor, IWithUnboundedStash
{
    /// <summary>The singleton's name.</summary>
    public const string Name = "scheduler";

    /// <summary>How long a host may take to say what it sees at a VM's disk paths.</summary>
    public static readonly TimeSpan DiskProbeTimeout = TimeSpan.FromSeconds(2);

    private readonly PlacementSettings _settings;
    private readonly IDiskProbe _probe;
    private readonly PlacementBoard _board = PlacementBoard.Get(Context.System);
    private readonly IActorRef _mediator = DistributedPubSub.Get(Context.System).Mediator;

    public Scheduler(PlacementSettings settings, IDiskProbe? probe = null)
    {
        _settings = settings;
        _probe = probe ?? new HostAgentDiskProbe(Context.System);
        Ready();
    }

    public IStash Stash { get; set; } = null!;

    public static Props Props(PlacementSettings settings, IDiskProbe? probe = null) =>
        Akka.Actor.Props.Create(() => new Scheduler(settings, probe));

    private void Ready()
    {
        Receive<CreateVm>(create =>
        {
            var id = create.VmId;
            if (_board.DecisionFor(id) is not null || _board.Hosts().Any(h => h.Vms.Any(v => v.VmId == id)))
                Sender.Tell(new NotAllowed(id, $"a VM with id '{id}' already exists"));
            else
                Place(create, create.Spec, _board.Views(_settings.PendingFor));
        });
        Receive<ReserveMigrationTarget>(reserve =>
            Place(reserve, reserve.Spec, _board.Views(_settings.PendingFor, new HashSet<string>(StringComparer.Ordinal) { reserve.Target })));
        Receive<EndMigrationReservation>(end => Publish(new PlacementDecided(end.Spec, end.Host)));
        Receive<UpdatePlacement>(update => Publish(new PlacementDecided(update.Spec, update.Host)));
        Receive<PlacementReleased>(released =>
        {
            _board.Release(released.VmId);
            _mediator.Tell(new Publish(ResourceAwareAllocationStrategy.DecisionsTopic, released));
        });
    }

    /// <summary>Waits for the hosts' answers on a VM's disks; every other request waits its turn.</summary>
    private void Probing()
    {
        Receive<Probed>(probed =>
        {
            var seen = probed.Seen.ToDictionary(s => s.Host, s => s.Disks, StringComparer.Ordinal);
            Decide(probed.Request, probed.Spec, probed.ReplyTo,
                [.. probed.Views.Select(v => seen.TryGetValue(v.Host, out var disks) ? v.Seeing(disks) : v)]);
            Stash.UnstashAll();
            Become(Ready);
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private void Place(object request, VmSpec spec, IReadOnlyList<HostView> views)
    {
        if (spec.Disks.Count == 0 || views.Count == 0)
        {
            Decide(request, spec, Sender, views);
            return;
        }
        var replyTo = Sender;
        _probe.Look([.. views.Select(v => v.Host)], [.. spec.Disks.Select(d => d.Path)], DiskProbeTimeout)
            .ContinueWith(t => new Probed(request, spec, replyTo, views, t.IsCompletedSuccessfully ? t.Result : []), TaskScheduler.Default)
            .PipeTo(Self);
        Become(Probing);
    }

    private void Decide(object request, VmSpec spec, IActorRef replyTo, IReadOnlyList<HostView> views)
    {
        var result = request is ReserveMigrationTarget reserve && views.Count == 0
            ? PlacementResult.Refused("hosts", $"host {reserve.Target} is not up")
            : Placer.Choose(spec, views, _settings);
        if (!result.Placed)
        {
            replyTo.Tell(new PlacementRefused(spec.Id, result.Resource!, result.Message!));
            return;
        }
        var decision = new PlacementDecided(spec, request is ReserveMigrationTarget r ? r.Target : result.Host!);
        Publish(decision);
        replyTo.Tell(decision);
    }

    private void Publish(PlacementDecided decision)
    {
        _board.Decide(decision);
        _mediator.Tell(new Publish(ResourceAwareAllocationStrategy.DecisionsTopic, decision));
    }

    /// <summary>What the hosts answered about a request's disk paths.</summary>
    private sealed record Probed(object Request, VmSpec Spec, IActorRef ReplyTo, IReadOnlyList<HostView> Views, IReadOnlyList<DisksSeen> Seen);
}
