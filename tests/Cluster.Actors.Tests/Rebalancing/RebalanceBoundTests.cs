using Cluster.Actors.Rebalancing;
using static Cluster.Actors.Tests.Rebalancing.PlannerCluster;

namespace Cluster.Actors.Tests.Rebalancing;

public class RebalanceBoundTests
{
    /// <summary>Hosts of 2 vCPUs with <paramref name="counts"/> busy guests each (load 1 per guest, times a noise factor)
    /// and one idle guest each.</summary>
    private static List<PlannerHost> Busy(int[] counts, Random? noise = null) =>
    [
        .. counts.Select((c, h) => Host($"h{h}", 2, 4096, "a", false,
            [
                .. Enumerable.Range(0, c).Select(i => Vm($"busy-{h}-{i}", 1 + (noise is null ? 0 : (noise.NextDouble() - 0.5) * 0.1))),
                Vm($"idle-{h}", 0.01),
            ])),
    ];

    /// <summary>The exact fewest moves for unit VMs: the most loaded hosts keep ceil(total / n), the rest floor(total / n).</summary>
    private static int Exact(int[] counts)
    {
        var total = counts.Sum();
        var n = counts.Length;
        var sorted = counts.OrderByDescending(c => c).ToArray();
        return sorted.Select((c, i) => Math.Max(0, c - (total / n + (i < total % n ? 1 : 0)))).Sum();
    }

    [Fact]
    public void Equal_guests_need_exactly_the_moves_that_leave_counts_within_one_generated_cases()
    {
        var random = new Random(20261207);
        for (var trial = 0; trial < 500; trial++)
        {
            var counts = Enumerable.Range(0, random.Next(2, 7)).Select(_ => random.Next(0, 9)).ToArray();
            Assert.True(Exact(counts) == RebalanceBound.FewestMoves(Busy(counts)), $"counts {string.Join(",", counts)}");
            Assert.True(Exact(counts) == RebalanceBound.FewestMoves(Busy(counts, random)), $"counts {string.Join(",", counts)} with 5 % noise");
        }
    }

    [Theory]
    [InlineData(new[] { 3, 3, 0 }, 2)]
    [InlineData(new[] { 3, 3, 3, 0 }, 2)]
    [InlineData(new[] { 2, 2, 2 }, 0)]
    [InlineData(new[] { 4, 0 }, 2)]
    [InlineData(new[] { 3, 2 }, 0)]
    public void Known_cases(int[] counts, int moves) => Assert.Equal(moves, RebalanceBound.FewestMoves(Busy(counts)));

    [Fact]
    public void Draining_hosts_and_single_hosts_do_not_count()
    {
        var hosts = Busy([4, 0]);
        Assert.Equal(0, RebalanceBound.FewestMoves([hosts[0]]));
        Assert.Equal(0, RebalanceBound.FewestMoves([hosts[0], hosts[1] with { Draining = true }]));
        Assert.Equal(0, RebalanceBound.FewestMoves(Busy([0, 0, 0])));
    }

    [Fact]
    public void A_heavy_guest_moves_before_light_ones()
    {
        // One host carries a 2-vCPU-busy guest and two light ones; the other is empty: moving the heavy one suffices.
        var hosts = new List<PlannerHost>
        {
            Host("a", 4, 4096, "a", false, Vm("heavy", 2, vcpus: 2), Vm("l1", 0.5), Vm("l2", 0.5)),
            Host("b", 4, 4096, "a", false),
        };
        Assert.Equal(1, RebalanceBound.FewestMoves(hosts));
    }
}
