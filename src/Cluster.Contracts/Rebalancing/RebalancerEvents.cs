using Cluster.Contracts.Migration;
using MessagePack;

namespace Cluster.Contracts.Rebalancing;

/// <summary>An event of the rebalancer's own journal (persistence id <c>rebalancer</c>).</summary>
public interface IRebalancerEvent : IClusterMessage;

/// <summary>An operator set the rebalancer's mode.</summary>
[MessagePackObject]
public sealed record RebalanceModeChanged([property: Key(0)] RebalanceMode Mode, [property: Key(1)] DateTime At) : IRebalancerEvent;

/// <summary>A host was marked unschedulable to be drained.</summary>
[MessagePackObject]
public sealed record HostDrainBegan([property: Key(0)] string Host, [property: Key(1)] DateTime At) : IRebalancerEvent;

/// <summary>A drained host was made schedulable again.</summary>
[MessagePackObject]
public sealed record HostDrainEnded([property: Key(0)] string Host, [property: Key(1)] DateTime At) : IRebalancerEvent;

/// <summary>
/// The rebalancer decided moves (automatic mode or a drain) or recommended a new plan, with the inputs
/// of the decision so that it can be explained later.
/// </summary>
/// <param name="At">When (UTC).</param>
/// <param name="Trigger">Rebalance or drain (a decision that mixes both is recorded as a drain).</param>
/// <param name="Hosts">Each host before the moves: its load (guest CPU load per vCPU of capacity), whether it drains, its stuck VMs.</param>
/// <param name="Imbalance">The imbalance before the moves.</param>
/// <param name="Threshold">The imbalance threshold in force.</param>
/// <param name="Moves">The moves with their gains and costs.</param>
/// <param name="Started">Whether the moves were started (false: only recommended).</param>
[MessagePackObject]
public sealed record RebalanceDecided(
    [property: Key(0)] DateTime At,
    [property: Key(1)] MigrationTrigger Trigger,
    [property: Key(2)] IReadOnlyList<RebalanceHost> Hosts,
    [property: Key(3)] double Imbalance,
    [property: Key(4)] double Threshold,
    [property: Key(5)] IReadOnlyList<PlannedMove> Moves,
    [property: Key(6)] bool Started) : IRebalancerEvent;

/// <summary>The rebalancer's persisted state in a snapshot: its mode and the drained hosts.</summary>
[MessagePackObject]
public sealed record RebalancerSnapshot([property: Key(0)] RebalanceMode Mode, [property: Key(1)] IReadOnlyList<string> Drained) : IClusterMessage;

/// <summary>
/// The whole set of unschedulable (drained) hosts, published by the rebalancer to every node whenever it
/// changes and at every rebalancing interval; placement (admission, HA restarts, migration targets)
/// never chooses these hosts.
/// </summary>
[MessagePackObject]
public sealed record UnschedulableHosts([property: Key(0)] IReadOnlyList<string> Hosts) : IClusterMessage;
