using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;

namespace Cluster.Actors.Rebalancing;

/// <summary>One move of a plan with why it was chosen.</summary>
/// <param name="Move">The move, its gain, cost and summary.</param>
/// <param name="Trigger">Rebalance or drain.</param>
/// <param name="Cost">The cost estimate's parts.</param>
/// <param name="Inputs">The figures behind it (loads before and after, imbalance, gain, cost, rule checks), for its MigrationCause.</param>
public sealed record PlanStep(PlannedMove Move, MigrationTrigger Trigger, MoveCost Cost, IReadOnlyDictionary<string, string> Inputs);

/// <summary>What the planner decided.</summary>
/// <param name="Loads">Each host's load before the plan (pending moves applied).</param>
/// <param name="Imbalance">The imbalance before the plan.</param>
/// <param name="ImbalanceAfter">The imbalance once every step is done.</param>
/// <param name="Steps">The moves, in order.</param>
/// <param name="Stuck">Per draining host, the VMs that fit on no other host, each with the placement rule's reason.</param>
public sealed record RebalancePlan(
    IReadOnlyDictionary<string, double> Loads, double Imbalance, double ImbalanceAfter, IReadOnlyList<PlanStep> Steps,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Stuck);
