using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Cluster.Actors.Placement;

namespace Cluster.Actors.Rebalancing;

/// <summary>Starts the rebalancer as a cluster singleton on the nodes with role host.</summary>
public static class RebalancerComposition
{
    /// <summary>
    /// Starts the singleton manager (settings from <c>cluster-hypervisor.rebalancer</c> and
    /// <c>cluster-hypervisor.placement</c>) and returns a proxy to the rebalancer; <paramref name="region"/>
    /// is the "vm" shard region (or its proxy) that receives the <see cref="Contracts.Migration.MigrateVm"/> commands.
    /// </summary>
    public static IActorRef Start(ActorSystem system, Config config, IActorRef region)
    {
        var props = Rebalancer.Props(RebalanceSettings.From(config), PlacementSettings.From(config), region,
            DistributedPubSub.Get(system).Mediator);
        system.ActorOf(ClusterSingletonManager.Props(props, PoisonPill.Instance,
            ClusterSingletonManagerSettings.Create(system).WithRole("host").WithSingletonName(Rebalancer.Name)), $"{Rebalancer.Name}-singleton");
        return system.ActorOf(ClusterSingletonProxy.Props($"/user/{Rebalancer.Name}-singleton",
            ClusterSingletonProxySettings.Create(system).WithRole("host").WithSingletonName(Rebalancer.Name)), $"{Rebalancer.Name}-proxy");
    }
}
