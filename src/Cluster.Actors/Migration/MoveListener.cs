using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Cluster.Actors.Placement;
using Cluster.Contracts.Migration;

namespace Cluster.Actors.Migration;

/// <summary>One per node: keeps the node's <see cref="PendingMoves"/> current from the cluster-wide <see cref="MigrationTopics.Moves"/> topic.</summary>
public sealed class MoveListener : ReceiveActor
{
    /// <summary>The actor name under /user.</summary>
    public const string Name = "move-listener";

    public MoveListener()
    {
        var moves = PendingMoves.Get(Context.System);
        Receive<VmMoved>(moves.Add);
        Receive<SubscribeAck>(_ => { });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new MoveListener());

    protected override void PreStart() =>
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(MigrationTopics.Moves, Self));
}
