namespace Cluster.Node.Http.History;

/// <summary>
/// One entry of the cluster-wide event feed: <paramref name="Seq"/> counts from 1 on this node, <paramref name="Kind"/>
/// is one of placement, status, restart, failover, deleted, migration, host, drain; <paramref name="Text"/> says what
/// happened and why, in the cluster's own words where it gave a reason.
/// </summary>
public sealed record FeedEvent(long Seq, DateTime At, string Kind, string? Vm, string? Host, string Text);
