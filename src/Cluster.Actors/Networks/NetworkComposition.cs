using Akka.Actor;
using Akka.Cluster.Tools.Singleton;

namespace Cluster.Actors.Networks;

/// <summary>Starts the network registry: a cluster singleton on the nodes with role host, a plain actor on a standalone node.</summary>
public static class NetworkComposition
{
    /// <summary>Starts it; returns the actor to send network commands to (the singleton's proxy in a cluster).</summary>
    public static IActorRef Start(ActorSystem system, bool cluster)
    {
        if (!cluster)
            return system.ActorOf(NetworkRegistry.Props(), NetworkRegistry.Name);
        system.ActorOf(ClusterSingletonManager.Props(NetworkRegistry.Props(), PoisonPill.Instance,
            ClusterSingletonManagerSettings.Create(system).WithRole("host").WithSingletonName(NetworkRegistry.Name)),
            $"{NetworkRegistry.Name}-singleton");
        return system.ActorOf(ClusterSingletonProxy.Props($"/user/{NetworkRegistry.Name}-singleton",
            ClusterSingletonProxySettings.Create(system).WithRole("host").WithSingletonName(NetworkRegistry.Name)), $"{NetworkRegistry.Name}-proxy");
    }
}
