using Akka.Actor;

namespace Cluster.Node.Hosting;

/// <summary>
/// What GET /readyz reports for a node: ready once its actor system runs and, on a cluster node, once it is an Up member
/// of its cluster (not joining, leaving or down), so that a load balancer sends operators only to nodes that can act.
/// </summary>
public static class NodeReadiness
{
    /// <summary>Why <paramref name="system"/>'s node is not ready; empty when it is.</summary>
    public static IReadOnlyList<string> Check(ActorSystem system)
    {
        if (system.WhenTerminated.IsCompleted)
            return ["the node's actor system has stopped"];
        if (!system.Settings.ProviderClass.Contains("Cluster", StringComparison.Ordinal))
            return [];
        var cluster = Akka.Cluster.Cluster.Get(system);
        var status = cluster.SelfMember.Status;
        var reasons = new List<string>();
        if (status != Akka.Cluster.MemberStatus.Up)
            reasons.Add($"this node is {status.ToString().ToLowerInvariant()} in its cluster, not up");
        if (cluster.IsTerminated)
            reasons.Add("this node has left its cluster");
        return reasons;
    }
}
