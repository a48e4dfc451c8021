namespace Cluster.Actors.Rebalancing;

/// <summary>Cluster-wide pub-sub topics of the rebalancer.</summary>
public static class RebalancerTopics
{
    /// <summary>
    /// The <see cref="Cluster.Contracts.Rebalancing.UnschedulableHosts"/> set, published by the rebalancer
    /// singleton; every node's HostDirectory applies it to its PlacementBoard.
    /// </summary>
    public const string Unschedulable = "unschedulable-hosts";
}
