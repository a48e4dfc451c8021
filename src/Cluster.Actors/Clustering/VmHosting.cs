using Akka.Actor;

namespace Cluster.Actors.Clustering;

/// <summary>
/// What a VM actor needs when it is a sharded entity of a cluster host: the host's agent (for
/// allocations, load and fence pauses), an optional run log, and how often a running VM checks the
/// journal for a newer owner (fencing).
/// </summary>
public sealed record VmHosting(IActorRef Agent, RunLog? RunLog, TimeSpan FenceCheckInterval);
