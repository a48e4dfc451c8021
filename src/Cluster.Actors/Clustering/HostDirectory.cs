using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.PublishSubscribe;
using Cluster.Actors.Placement;
using Cluster.Actors.Rebalancing;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Rebalancing;

namespace Cluster.Actors.Clustering;

/// <summary>
/// One per node: keeps the node's <see cref="PlacementBoard"/> current from the cluster-wide topics
/// (host statuses, placement decisions and releases, the rebalancer's unschedulable hosts) and forgets hosts that leave the cluster.
/// </summary>
public sealed class HostDirectory : ReceiveActor
{
    /// <summary>The actor name under /user.</summary>
    public const string Name = "host-directory";

    private readonly PlacementBoard _board = PlacementBoard.Get(Context.System);

    public HostDirectory()
    {
        Receive<HostStatus>(_board.Report);
        Receive<PlacementDecided>(_board.Decide);
        Receive<PlacementReleased>(r => _board.Release(r.VmId));
        Receive<UnschedulableHosts>(u => _board.SetUnschedulable(u.Hosts));
        Receive<ClusterEvent.MemberRemoved>(m => _board.RemoveHost($"{m.Member.Address.Host}:{m.Member.Address.Port}"));
        Receive<SubscribeAck>(_ => { });
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new HostDirectory());

    protected override void PreStart()
    {
        var mediator = DistributedPubSub.Get(Context.System).Mediator;
        mediator.Tell(new Subscribe(HostAgent.Topic, Self));
        mediator.Tell(new Subscribe(ResourceAwareAllocationStrategy.DecisionsTopic, Self));
        mediator.Tell(new Subscribe(RebalancerTopics.Unschedulable, Self));
        Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, typeof(ClusterEvent.MemberRemoved));
    }

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
}
