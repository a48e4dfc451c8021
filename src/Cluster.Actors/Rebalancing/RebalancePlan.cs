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
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Stuck)
{
    /// <summary>What finding the rebalance moves took (what explains a slow plan).</summary>
    public PlanWork Work { get; init; } = new(0, 0, 0, 0, 0, 0);
}

/// <summary>The work behind a plan's rebalance moves.</summary>
/// <param name="Scans">Searches for a step's best candidate (one per step, one more per candidate the Placer refused).</param>
/// <param name="Sources">Source hosts looked at (those whose bound could still beat the best candidate).</param>
/// <param name="Vms">VMs looked at (bounded against the best candidate).</param>
/// <param name="Aims">VMs whose targets were tried (past their bound).</param>
/// <param name="Targets">Targets whose imbalance was computed.</param>
/// <param name="PlacerRefusals">Best candidates by the figures that the Placer refused (each Placer check but one per step).</param>
public sealed record PlanWork(long Scans, long Sources, long Vms, long Aims, long Targets, long PlacerRefusals);
