using MessagePack;

namespace Cluster.Contracts.Rebalancing;

/// <summary>One move the rebalancer planned or made.</summary>
/// <param name="VmId">The VM to move.</param>
/// <param name="From">Its host.</param>
/// <param name="To">Where it goes.</param>
/// <param name="Gain">How much the imbalance drops by this move.</param>
/// <param name="Cost">The move's cost (memory to copy, dirty rate, predicted downtime), in the planner's units.</param>
/// <param name="Summary">The move explained in words.</param>
[MessagePackObject]
public sealed record PlannedMove(
    [property: Key(0)] string VmId,
    [property: Key(1)] string From,
    [property: Key(2)] string To,
    [property: Key(3)] double Gain,
    [property: Key(4)] double Cost,
    [property: Key(5)] string Summary) : IClusterMessage;

/// <summary>A host's state as the rebalancer sees it.</summary>
/// <param name="Host">Its address.</param>
/// <param name="Load">Its load as a share of its capacity (0..1 and above when overcommitted).</param>
/// <param name="Draining">Whether it is unschedulable and being emptied.</param>
/// <param name="Stuck">VMs a drain cannot move, each with the reason.</param>
[MessagePackObject]
public sealed record RebalanceHost(
    [property: Key(0)] string Host,
    [property: Key(1)] double Load,
    [property: Key(2)] bool Draining,
    [property: Key(3)] IReadOnlyDictionary<string, string> Stuck) : IClusterMessage;

/// <summary>The rebalancer's state: mode, the imbalance and its threshold, the hosts, the plan and the moves in flight.</summary>
/// <param name="Mode">Its mode.</param>
/// <param name="Imbalance">The current imbalance (the spread of host loads).</param>
/// <param name="Threshold">The imbalance above which it plans moves (after the hold time).</param>
/// <param name="AboveSince">Since when the imbalance has been above the threshold, or null.</param>
/// <param name="Hosts">Every host.</param>
/// <param name="Plan">The moves it plans now (recommend mode shows them; automatic mode makes them).</param>
/// <param name="InFlight">Moves it started that have not finished.</param>
/// <param name="MovesMade">Moves completed since the rebalancer started.</param>
/// <param name="FewestMoves">A lower bound of the moves that bring every schedulable host to within one VM of the mean load
/// (each overloaded host shedding its heaviest VMs first): what a plan's length compares with. Key 8, 0 from a node that
/// predates it.</param>
[MessagePackObject]
public sealed record RebalanceStatus(
    [property: Key(0)] RebalanceMode Mode,
    [property: Key(1)] double Imbalance,
    [property: Key(2)] double Threshold,
    [property: Key(3)] DateTime? AboveSince,
    [property: Key(4)] IReadOnlyList<RebalanceHost> Hosts,
    [property: Key(5)] IReadOnlyList<PlannedMove> Plan,
    [property: Key(6)] IReadOnlyList<PlannedMove> InFlight,
    [property: Key(7)] int MovesMade,
    [property: Key(8)] int FewestMoves = 0) : Replies.IVmReply;
