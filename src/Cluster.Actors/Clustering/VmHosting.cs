using Akka.Actor;
using Cluster.Actors.Migration;

namespace Cluster.Actors.Clustering;

/// <summary>
/// What a VM actor needs when it is a sharded entity of a cluster host: the host's agent (for
/// allocations, load and fence pauses), an optional run log, how often a running VM checks the
/// journal for a newer owner (fencing), and for live migration the scheduler (target reservations)
/// and the migration tunables (null: migration refused).
/// </summary>
public sealed record VmHosting(IActorRef Agent, RunLog? RunLog, TimeSpan FenceCheckInterval, IActorRef? Scheduler = null,
    MigrationSettings? Migration = null);
