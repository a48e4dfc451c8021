using Cluster.Actors.Rebalancing;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;

namespace Cluster.Actors.Tests.Rebalancing;

public class RebalancerStateTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void Applies_mode_changes_and_drains_and_survives_a_snapshot()
    {
        var state = RebalancerState.Initial(RebalanceMode.Automatic)
            .Apply(new HostDrainBegan("h2", T0))
            .Apply(new HostDrainBegan("h1", T0))
            .Apply(new RebalanceModeChanged(RebalanceMode.Off, T0))
            .Apply(new RebalanceDecided(T0, MigrationTrigger.Drain, [], 0.3, 0.15, [], true))
            .Apply(new HostDrainEnded("h2", T0));
        Assert.Equal(RebalanceMode.Off, state.Mode);
        Assert.Equal(["h1"], state.Drained);
        var restored = RebalancerState.FromSnapshot(state.ToSnapshot());
        Assert.Equal(state.Mode, restored.Mode);
        Assert.Equal(state.Drained, restored.Drained);
    }
}
