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
/// higher-priority VMs go first by delaying lower ones a little. It never rebalances on its own: moving
/// a running VM is a live migration, driven elsewhere.
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
            system.Log.Warning("VM {0} fits no live host ({1}: {2}); starting it on the least loaded", shardId, result.Resource, result.Message);
        }
        return currentShardAllocations.OrderBy(kv => kv.Value.Count).ThenBy(kv => HostOf(kv.Key, self), StringComparer.Ordinal).First().Key;
    }

    /// <inheritdoc />
    public Task<IImmutableSet<string>> Rebalance(
        IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations, IImmutableSet<string> rebalanceInProgress) =>
        Task.FromResult<IImmutableSet<string>>(ImmutableHashSet<string>.Empty);

    /// <summary>The "host:port" of a region; a local region's path has no address, so it is this node's.</summary>
    public static string HostOf(IActorRef region, Address self)
    {
        var address = region.Path.Address.HasGlobalScope ? region.Path.Address : self;
        return $"{address.Host}:{address.Port}";
    }
}
