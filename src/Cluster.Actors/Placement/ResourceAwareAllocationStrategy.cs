using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Cluster.Contracts.Hosts;

namespace Cluster.Actors.Placement;

/// <summary>
/// Places each VM's shard (shard id = VM id) on a host. It follows the scheduler's decision when that
/// host has a region; otherwise (the host failed or left: an HA restart) it chooses with the same
/// <see cref="Placer"/> rule among the live regions, records and publishes the new decision, and lets
/// higher-priority VMs go first by delaying lower ones a little. A VM that fits no live host is not
/// placed at all (the allocation fails, and is asked for again every <see cref="PlacementSettings.UnplacedRetry"/>). It never moves a running VM on its
/// own: moving one is a live migration, driven elsewhere; <see cref="Rebalance"/> then hands over exactly the shards
/// of VMs that migrated (<see cref="PendingMoves"/>) and are still on their old host, and allocation follows the VM.
/// </summary>
public sealed class ResourceAwareAllocationStrategy(PlacementSettings settings)
    : IShardAllocationStrategy, IActorSystemDependentAllocationStrategy
{
    /// <summary>The pub-sub topic of placement decisions.</summary>
    public const string DecisionsTopic = "vm-placements";

    private ActorSystem? _system;

    /// <inheritdoc />
    public void Start(ActorSystem system) => _system = system;

    /// <inheritdoc />
    public async Task<IActorRef> AllocateShard(
        IActorRef requester, string shardId, IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
    {
        var system = _system ?? throw new InvalidOperationException("the allocation strategy was not started");
        var self = Akka.Cluster.Cluster.Get(system).SelfAddress;
        var regions = currentShardAllocations.Keys.ToDictionary(r => HostOf(r, self), StringComparer.Ordinal);
        if (PendingMoves.Get(system).Find(shardId) is { } move && regions.TryGetValue(move.To, out var moved))
            return moved;
        var board = PlacementBoard.Get(system);
        var decided = board.DecisionFor(shardId);
        if (decided is not null && regions.TryGetValue(decided.Host, out var chosen))
            return chosen;
        if (decided is not null)
            await Task.Delay(TimeSpan.FromMilliseconds(20 * Math.Clamp(10 - decided.Spec.Priority, 0, 10)));
        var views = board.Views(settings.PendingFor, regions.Keys.ToHashSet(StringComparer.Ordinal));
        if (decided is not null)
        {
            var result = Placer.Choose(decided.Spec, views, settings);
            if (result.Placed && regions.TryGetValue(result.Host!, out var region))
            {
                var decision = new PlacementDecided(decided.Spec, result.Host!);
                board.Decide(decision);
                DistributedPubSub.Get(system).Mediator.Tell(new Publish(DecisionsTopic, decision));
                system.Log.Info("VM {0} placed again on {1} (its host {2} is gone)", shardId, result.Host, decided.Host);
                return region;
            }
            // A placement rule is never broken to restart a VM: its shard stays unallocated. The coordinator tries again only
            // when a region registers or ends, so room that frees up otherwise (a VM deleted or stopped, a host's status
            // arriving late) would leave the VM down for good: the allocation is asked for again after a while.
            system.Log.Warning("VM {0} fits no live host ({1}: {2}); it stays down until one fits (trying again in {3})", shardId,
                result.Resource, result.Message, settings.UnplacedRetry);
            RetryLater(system, shardId);
            throw new InvalidOperationException($"VM {shardId} fits no live host: {result.Message}");
        }
        return currentShardAllocations.OrderBy(kv => kv.Value.Count).ThenBy(kv => HostOf(kv.Key, self), StringComparer.Ordinal).First().Key;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _retrying = new(StringComparer.Ordinal);

    /// <summary>
    /// Asks for <paramref name="shardId"/>'s allocation again after <see cref="PlacementSettings.UnplacedRetry"/>, once (the
    /// local shard region's <see cref="ShardRegion.StartEntity"/> makes the region ask the coordinator for the shard's home),
    /// while the VM still has a placement decision (a deleted VM has none).
    /// </summary>
    private void RetryLater(ActorSystem system, string shardId)
    {
        if (!_retrying.TryAdd(shardId, 0))
            return;
        system.Scheduler.Advanced.ScheduleOnce(settings.UnplacedRetry, () =>
        {
            _retrying.TryRemove(shardId, out _);
            if (PlacementBoard.Get(system).DecisionFor(shardId) is null)
                return;
            try
            {
                ClusterSharding.Get(system).ShardRegion(Clustering.VmMessageExtractor.TypeName).Tell(new ShardRegion.StartEntity(shardId));
            }
            catch (ArgumentException)
            {
                // No VM region on this node (it is shutting down): the next coordinator allocates again when it starts.
            }
        });
    }

    /// <inheritdoc />
    public Task<IImmutableSet<string>> Rebalance(
        IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations, IImmutableSet<string> rebalanceInProgress)
    {
        var system = _system ?? throw new InvalidOperationException("the allocation strategy was not started");
        var self = Akka.Cluster.Cluster.Get(system).SelfAddress;
        var byHost = currentShardAllocations.ToDictionary(kv => HostOf(kv.Key, self), kv => (IReadOnlyList<string>)kv.Value, StringComparer.Ordinal);
        return Task.FromResult<IImmutableSet<string>>(ShardsToHandOver(PendingMoves.Get(system), byHost, rebalanceInProgress));
    }

    /// <summary>
    /// The shards of migrated VMs still allocated on the host they left (<paramref name="shardsByHost"/>: host to its
    /// shards), leaving out those being handed over already; moves whose shard sits on the VM's new host are forgotten.
    /// Any other shard stays where it is: a running VM that did not migrate is never handed off.
    /// </summary>
    public static IImmutableSet<string> ShardsToHandOver(PendingMoves moves, IReadOnlyDictionary<string, IReadOnlyList<string>> shardsByHost,
        IImmutableSet<string> rebalanceInProgress)
    {
        var handOver = ImmutableHashSet.CreateBuilder<string>(StringComparer.Ordinal);
        foreach (var (host, shards) in shardsByHost)
        {
            foreach (var shard in shards)
            {
                if (moves.Find(shard) is not { } move)
                    continue;
                if (move.To == host)
                    moves.Done(shard);
                else if (move.From == host && !rebalanceInProgress.Contains(shard))
                    handOver.Add(shard);
            }
        }
        return handOver.ToImmutable();
    }

    /// <summary>The "host:port" of a region; a local region's path has no address, so it is this node's.</summary>
    public static string HostOf(IActorRef region, Address self)
    {
        var address = region.Path.Address.HasGlobalScope ? region.Path.Address : self;
        return $"{address.Host}:{address.Port}";
    }
}
