using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Cluster.Actors.Placement;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;

namespace Cluster.Actors.Clustering;

/// <summary>
/// Admission control, as a cluster singleton: one place decides, one request at a time, so two
/// creations never take the same free capacity. A <see cref="CreateVm"/> gets a
/// <see cref="PlacementDecided"/> (recorded on this node's board and published to every node, where
/// the shard allocation strategy reads it) or a <see cref="PlacementRefused"/> naming the short resource.
/// A live migration reserves its target the same way (<see cref="ReserveMigrationTarget"/>: the decision moves to
/// the target) and ends with <see cref="EndMigrationReservation"/> (the decision is the target, or the source again).
/// </summary>
public sealed class Scheduler : ReceiveActor
{
    /// <summary>The singleton's name.</summary>
    public const string Name = "scheduler";

    public Scheduler(PlacementSettings settings)
    {
        var board = PlacementBoard.Get(Context.System);
        var mediator = DistributedPubSub.Get(Context.System).Mediator;
        Receive<CreateVm>(create =>
        {
            var id = create.VmId;
            if (board.DecisionFor(id) is { } existing || board.Hosts().Any(h => h.Vms.Any(v => v.VmId == id)))
            {
                Sender.Tell(new NotAllowed(id, $"a VM with id '{id}' already exists"));
                return;
            }
            var result = Placer.Choose(create.Spec, board.Views(settings.PendingFor), settings);
            if (!result.Placed)
            {
                Sender.Tell(new PlacementRefused(id, result.Resource!, result.Message!));
                return;
            }
            var decision = new PlacementDecided(create.Spec, result.Host!);
            board.Decide(decision);
            mediator.Tell(new Publish(ResourceAwareAllocationStrategy.DecisionsTopic, decision));
            Sender.Tell(decision);
        });
        Receive<ReserveMigrationTarget>(reserve =>
        {
            var views = board.Views(settings.PendingFor, new HashSet<string>(StringComparer.Ordinal) { reserve.Target });
            var result = views.Count == 0
                ? PlacementResult.Refused("hosts", $"host {reserve.Target} is not up")
                : Placer.Choose(reserve.Spec, views, settings);
            if (!result.Placed)
            {
                Sender.Tell(new PlacementRefused(reserve.Spec.Id, result.Resource!, result.Message!));
                return;
            }
            var decision = new PlacementDecided(reserve.Spec, reserve.Target);
            board.Decide(decision);
            mediator.Tell(new Publish(ResourceAwareAllocationStrategy.DecisionsTopic, decision));
            Sender.Tell(decision);
        });
        Receive<EndMigrationReservation>(end =>
        {
            var decision = new PlacementDecided(end.Spec, end.Host);
            board.Decide(decision);
            mediator.Tell(new Publish(ResourceAwareAllocationStrategy.DecisionsTopic, decision));
        });
        Receive<PlacementReleased>(released =>
        {
            board.Release(released.VmId);
            mediator.Tell(new Publish(ResourceAwareAllocationStrategy.DecisionsTopic, released));
        });
    }

    public static Props Props(PlacementSettings settings) => Akka.Actor.Props.Create(() => new Scheduler(settings));
}
