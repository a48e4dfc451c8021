using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Cluster.Actors.Placement;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Replies;

namespace Cluster.Actors.Clustering;

/// <summary>
/// Admission control, as a cluster singleton: one place decides, one request at a time, so two
/// creations never take the same free capacity. A <see cref="CreateVm"/> gets a
/// <see cref="PlacementDecided"/> (recorded on this node's board and published to every node, where
/// the shard allocation strategy reads it) or a <see cref="PlacementRefused"/> naming the short resource.
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
        Receive<PlacementReleased>(released =>
        {
            board.Release(released.VmId);
            mediator.Tell(new Publish(ResourceAwareAllocationStrategy.DecisionsTopic, released));
        });
    }

    public static Props Props(PlacementSettings settings) => Akka.Actor.Props.Create(() => new Scheduler(settings));
}
