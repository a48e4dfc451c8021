using System.Collections.Immutable;
using Cluster.Contracts.Rebalancing;

namespace Cluster.Actors.Rebalancing;

/// <summary>The rebalancer's persisted state: its mode and the drained (unschedulable) hosts. Pure.</summary>
/// <param name="Mode">What it does with its plans.</param>
/// <param name="Drained">The hosts being drained, ordered.</param>
public sealed record RebalancerState(RebalanceMode Mode, ImmutableSortedSet<string> Drained)
{
    /// <summary>The state before any event: <paramref name="mode"/> from the configuration, no drained host.</summary>
    public static RebalancerState Initial(RebalanceMode mode) => new(mode, ImmutableSortedSet.Create<string>(StringComparer.Ordinal));

    /// <summary>The state after <paramref name="e"/>; a decision changes nothing persisted.</summary>
    public RebalancerState Apply(IRebalancerEvent e) => e switch
    {
        RebalanceModeChanged m => this with { Mode = m.Mode },
        HostDrainBegan d => this with { Drained = Drained.Add(d.Host) },
        HostDrainEnded u => this with { Drained = Drained.Remove(u.Host) },
        _ => this,
    };

    public RebalancerSnapshot ToSnapshot() => new(Mode, [.. Drained]);

    public static RebalancerState FromSnapshot(RebalancerSnapshot snapshot) =>
        new(snapshot.Mode, ImmutableSortedSet.CreateRange(StringComparer.Ordinal, snapshot.Drained));
}
