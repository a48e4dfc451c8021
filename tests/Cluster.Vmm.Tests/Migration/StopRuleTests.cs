using Cluster.Vmm.Migration;
using Xunit;

namespace Cluster.Vmm.Tests.Migration;

public class StopRuleTests
{
    private static readonly TimeSpan Aim = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan Limit = TimeSpan.FromMilliseconds(300);

    [Theory]
    // Nothing dirty, or it fits the aim: stop, whatever else holds.
    [InlineData(0, 100, 0, true, StopDecision.StopAndCopy)]
    [InlineData(5000, 5000, 5, true, StopDecision.StopAndCopy)]
    [InlineData(5000, 100_000, 4, false, StopDecision.StopAndCopy)]
    // Shrinking by a tenth or more: another round, within the limit or not.
    [InlineData(8999, 10_000, 50, true, StopDecision.Continue)]
    [InlineData(8999, 10_000, 900, false, StopDecision.Continue)]
    // Not shrinking and over the limit: another round (the source's convergence checks decide what follows).
    [InlineData(9000, 10_000, 301, true, StopDecision.Continue)]
    // Not shrinking, within the limit: throttled rounds while allowed and the set is large enough; else stop.
    [InlineData(16384, 16384, 200, true, StopDecision.Converge)]
    [InlineData(9000, 10_000, 300, true, StopDecision.Converge)]
    [InlineData(16384, 16384, 200, false, StopDecision.StopAndCopy)]
    [InlineData(255, 255, 200, true, StopDecision.StopAndCopy)]
    [InlineData(256, 256, 200, true, StopDecision.Converge)]
    public void Decides_from_the_dirty_set_its_trend_the_expected_pause_and_whether_throttling_may_go_on(
        long dirty, long previous, int expectedMs, bool mayConverge, StopDecision decision)
    {
        Assert.Equal(decision, StopRule.Decide(dirty, previous, TimeSpan.FromMilliseconds(expectedMs), Aim, Limit, mayConverge));
    }
}
