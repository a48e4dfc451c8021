namespace Cluster.Actors.Networks;

/// <summary>
/// This node's latest copy of the cluster's networks, an immutable <see cref="NetworkBook"/> that the node's
/// <see cref="NetworkFollower"/> replaces as it reads the registry's journal, and that <see cref="HostNetworking"/> reads
/// when a guest with NICs is created on this host.
/// </summary>
public sealed class NetworkView
{
    private volatile NetworkBook _current = NetworkBook.Empty;

    /// <summary>The networks as last read.</summary>
    public NetworkBook Current => _current;

    /// <summary>Replaces the copy (the follower).</summary>
    internal void Publish(NetworkBook book) => _current = book;
}
