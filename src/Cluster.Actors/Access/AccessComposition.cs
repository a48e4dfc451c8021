using Akka.Actor;
using Akka.Cluster.Tools.Client;
using Akka.Cluster.Tools.Singleton;
using Cluster.Contracts.Access;

namespace Cluster.Actors.Access;

/// <summary>
/// Starts the access control of a node: the token registry and the audit log (cluster singletons on the nodes with
/// role host, or plain actors on a standalone node) and this node's <see cref="AccessGate"/> in front of
/// the control entry point; on a cluster node the gate, not the control entry, is what the ClusterClientReceptionist
/// serves.
/// </summary>
public static class AccessComposition
{
    /// <summary>How often a gate rereads the token registry's journal when nothing asks it to (revocations reach it within this).</summary>
    public static readonly TimeSpan DefaultRefresh = TimeSpan.FromSeconds(1);

    /// <summary>Starts them; returns the gate.</summary>
    /// <param name="system">The node's ActorSystem.</param>
    /// <param name="control">The control entry point (ClusterControl, or a standalone node's VmManager).</param>
    /// <param name="cluster">True on a cluster node.</param>
    /// <param name="node">This node's HOST:PORT, for the audit log.</param>
    /// <param name="localTokens">Tokens this node accepts before the registry has them (its bootstrap token); they are imported into the registry.</param>
    /// <param name="refresh">How often the gate rereads the registry's journal.</param>
    public static IActorRef Start(ActorSystem system, IActorRef control, bool cluster, string node, IReadOnlyList<TokenIssued> localTokens,
        TimeSpan refresh)
    {
        IActorRef tokens, audit;
        if (cluster)
        {
            tokens = Singleton(system, TokenRegistry.Props(), TokenRegistry.Name);
            audit = Singleton(system, AuditLog.Props(), AuditLog.Name);
        }
        else
        {
            tokens = system.ActorOf(TokenRegistry.Props(), TokenRegistry.Name);
            audit = system.ActorOf(AuditLog.Props(), AuditLog.Name);
        }
        var gate = system.ActorOf(AccessGate.Props(control, tokens, audit, node, localTokens, refresh), AccessGate.Name);
        if (cluster)
            ClusterClientReceptionist.Get(system).RegisterService(gate);
        return gate;
    }

    private static IActorRef Singleton(ActorSystem system, Props props, string name)
    {
        system.ActorOf(ClusterSingletonManager.Props(props, PoisonPill.Instance,
            ClusterSingletonManagerSettings.Create(system).WithRole("host").WithSingletonName(name)), $"{name}-singleton");
        return system.ActorOf(ClusterSingletonProxy.Props($"/user/{name}-singleton",
            ClusterSingletonProxySettings.Create(system).WithRole("host").WithSingletonName(name)), $"{name}-proxy");
    }
}
