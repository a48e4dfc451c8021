using Cluster.Actors.Clustering;

namespace Cluster.Actors.Tests.Clustering;

public class MinorityGuardTests
{
    [Theory]
    [InlineData(3, 1, true)]
    [InlineData(3, 2, false)]
    [InlineData(4, 2, true)]
    [InlineData(5, 3, false)]
    [InlineData(1, 1, false)]
    public void A_node_is_in_a_minority_unless_it_reaches_a_strict_majority(int members, int reachable, bool minority) =>
        Assert.Equal(minority, MinorityGuard.InMinority(members, reachable));
}
