using Cluster.Actors.Rebalancing;

namespace Cluster.Actors.Tests.Rebalancing;

/// <summary>The planner's candidate scan gives the world's own figures, and its bound is never above any candidate.</summary>
public sealed class CandidateScanTests
{
    [Fact]
    public void The_scan_gives_the_worlds_imbalance_bit_for_bit_and_bounds_every_target()
    {
        var random = new Random(5);
        for (var round = 0; round < 20; round++)
        {
            var hosts = Enumerable.Range(0, 8).Select(i => new PlannerHost($"h{i}", random.Next(3) * 4, 1UL << 40,
                new Dictionary<string, string>(), Draining: random.Next(6) == 0,
                [.. Enumerable.Range(0, random.Next(5)).Select(j => new PlannerVm($"v{i}-{j}", 1, 1UL << 30, null, random.NextDouble() * 2))])).ToList();
            var world = new RebalanceWorld(hosts, []);
            var names = hosts.Where(h => !h.Draining).Select(h => h.Host).ToList();
            var open = names.Select(_ => random.Next(4) > 0).ToArray();
            var scan = world.Scan(names, h => open[names.IndexOf(h)]);
            for (var f = 0; f < names.Count; f++)
            {
                foreach (var vm in world.VmsOn(names[f]))
                {
                    var best = scan.BestImbalanceIf(vm.CpuLoad, f);
                    for (var t = 0; t < names.Count; t++)
                    {
                        var exact = world.ImbalanceIf(vm, names[f], names[t]);
                        Assert.Equal(BitConverter.DoubleToInt64Bits(exact), BitConverter.DoubleToInt64Bits(scan.ImbalanceIf(vm.CpuLoad, f, t)));
                        if (open[t])
                            Assert.True(best <= exact + 1e-12, $"bound {best} above {exact}");
                    }
                }
            }
        }
    }
}
