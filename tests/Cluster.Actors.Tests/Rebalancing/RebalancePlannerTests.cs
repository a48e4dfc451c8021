using Cluster.Actors.Rebalancing;
using Cluster.Contracts.Migration;
using static Cluster.Actors.Tests.Rebalancing.PlannerCluster;

namespace Cluster.Actors.Tests.Rebalancing;

public class RebalancePlannerTests
{
    [Fact]
    public void Balances_a_skewed_cluster_within_a_bounded_number_of_moves()
    {
        var plan = Plan(Input([
            Host("h1", Vm("a", 0.5), Vm("b", 0.5), Vm("c", 0.5), Vm("d", 0.5), Vm("e", 0.5), Vm("f", 0.5)),
            Host("h2"),
            Host("h3"),
        ]));
        Assert.True(plan.Imbalance > 0.3, $"the cluster starts skewed ({plan.Imbalance})");
        Assert.True(plan.ImbalanceAfter <= Loose.Threshold, $"imbalance after {plan.ImbalanceAfter}");
        Assert.InRange(plan.Steps.Count, 2, 4);
        Assert.All(plan.Steps, s => Assert.Equal("h1", s.Move.From));
        Assert.All(plan.Steps, s => Assert.Equal(MigrationTrigger.Rebalance, s.Trigger));
        Assert.All(plan.Steps, s => Assert.True(s.Move.Gain >= Loose.MinGain));
    }

    [Fact]
    public void Stops_when_the_imbalance_is_within_the_threshold()
    {
        var plan = Plan(Input([Host("h1", Vm("a", 0.5), Vm("b", 0.4)), Host("h2", Vm("c", 0.6), Vm("d", 0.4))]));
        Assert.True(plan.Imbalance <= Loose.Threshold);
        Assert.Empty(plan.Steps);
    }

    [Fact]
    public void Picks_the_cheaper_of_two_equal_gain_moves()
    {
        var one = Loose with { MaxMoves = 1 };
        var bySize = Plan(Input([Host("h1", Vm("a-big", 2, memoryMiB: 4096), Vm("b-small", 2, memoryMiB: 256)), Host("h2")]), one);
        Assert.Equal("b-small", Assert.Single(bySize.Steps).Move.VmId);
        var byDirtyRate = Plan(Input([
            Host("h1", Vm("a-dirty", 2, memoryMiB: 512, dirty: 400.0 * MiB), Vm("b-calm", 2, memoryMiB: 512, dirty: 1.0 * MiB)),
            Host("h2"),
        ]), one);
        var step = Assert.Single(byDirtyRate.Steps);
        Assert.Equal("b-calm", step.Move.VmId);
        Assert.True(step.Move.Cost < MoveCost.Of(Vm("a-dirty", 2, memoryMiB: 512, dirty: 400.0 * MiB), Loose).Seconds);
    }

    [Fact]
    public void Never_breaks_labels_anti_affinity_or_capacity()
    {
        var plan = Plan(Input([
            Host("h1", 4, 4096, "a", false,
                Vm("pinned", 2, memoryMiB: 64, requires: ("zone", "a")),
                Vm("grouped", 2, memoryMiB: 64, group: "g"),
                Vm("wide", 2, memoryMiB: 8, vcpus: 9),
                Vm("spec-unknown", 2, memoryMiB: 64) with { RequiredLabels = null },
                Vm("free", 2, memoryMiB: 8)),
            Host("h2", 2, 4096, "b", false, Vm("g-other", 0, memoryMiB: 8, group: "g")),
            Host("h3", 2, 32, "a", false),
        ]));
        var step = Assert.Single(plan.Steps);
        Assert.Equal("free", step.Move.VmId);
    }

    [Fact]
    public void Never_plans_a_move_back_to_a_host_the_vm_left()
    {
        var hosts = new[] { Host("h1", 2, 4096, "a", false, Vm("x", 1), Vm("y", 1)), Host("h2", 2, 4096, "a", false) };
        var one = Loose with { MaxMoves = 1 };
        Assert.Equal("x", Assert.Single(Plan(Input(hosts), one).Steps).Move.VmId);
        var history = new[] { new RecentMove("x", "h2", "h1", Now - TimeSpan.FromMinutes(5)) };
        var step = Assert.Single(Plan(Input(hosts, history: history), one).Steps);
        Assert.Equal("y", step.Move.VmId);
    }

    [Fact]
    public void Does_not_move_a_vm_again_within_its_cool_down()
    {
        var hosts = new[] { Host("h1", 2, 4096, "a", false, Vm("x", 1), Vm("y", 1)), Host("h2", 2, 4096, "a", false), Host("h3", 2, 4096, "a", false) };
        var history = new[] { new RecentMove("x", "h3", "h1", Now - TimeSpan.FromSeconds(30)) };
        var plan = Plan(Input(hosts, history: history));
        Assert.DoesNotContain(plan.Steps, s => s.Move.VmId == "x");
        Assert.Contains(plan.Steps, s => s.Move.VmId == "y");
    }

    [Theory]
    [InlineData(0.0, 8)]
    [InlineData(0.2, 12)]
    public void Steady_load_over_many_intervals_gives_a_bounded_number_of_moves(double noise, int bound)
    {
        var random = new Random(7);
        var hosts = Enumerable.Range(1, 4).Select(h => Host($"h{h}", 4, 8192, "a", false,
            [.. Enumerable.Range(0, h == 1 ? 10 : 2).Select(v => Vm($"vm{h}-{v}", Math.Round(random.NextDouble(), 2), memoryMiB: 64 + (ulong)random.Next(512)))]))
            .ToList();
        var settings = RebalanceSettings.Default;
        var history = new List<RecentMove>();
        var now = Now;
        var movesPerInterval = new List<int>();
        for (var interval = 0; interval < 300; interval++)
        {
            var measured = hosts.Select(h => h with { Vms = [.. h.Vms.Select(v => v with { CpuLoad = v.CpuLoad * (1 + noise * (random.NextDouble() * 2 - 1)) })] })
                .ToList();
            var plan = RebalancePlanner.Plan(new RebalanceInput(measured, [], history, new HashSet<string>(), now), settings, Placing, rebalance: true);
            foreach (var move in plan.Steps.Select(s => s.Move))
            {
                var vm = hosts.Single(h => h.Host == move.From).Vms.Single(v => v.VmId == move.VmId);
                hosts = [.. hosts.Select(h => h.Host == move.From ? h with { Vms = [.. h.Vms.Where(v => v != vm)] }
                    : h.Host == move.To ? h with { Vms = [.. h.Vms, vm] } : h)];
                Assert.DoesNotContain(history, m => m.VmId == move.VmId && m.From == move.To && now - m.At < settings.History);
                history.Add(new RecentMove(move.VmId, move.From, move.To, now));
            }
            movesPerInterval.Add(plan.Steps.Count);
            now += settings.Interval;
        }
        Assert.InRange(movesPerInterval.Sum(), 3, bound);
        Assert.True(movesPerInterval.Max() <= settings.MaxMoves);
        Assert.True(history.GroupBy(m => m.VmId).All(g => g.Count() <= 3), "a VM moved again and again");
        Assert.True(RebalancePlanner.Measure(hosts, []).Imbalance <= settings.Threshold);
        if (noise == 0)
            Assert.Equal(0, movesPerInterval.Skip(100).Sum());
    }

    [Fact]
    public void Drain_empties_a_host_onto_the_others()
    {
        var plan = Plan(Input([
            Host("h1", 4, 4096, "a", true, Vm("a", 0.5), Vm("b", 0.5, memoryMiB: 512), Vm("c", 0.1)),
            Host("h2", Vm("d", 1)),
            Host("h3"),
        ]), rebalance: false);
        Assert.Equal(["b", "a", "c"], plan.Steps.Select(s => s.Move.VmId));
        Assert.All(plan.Steps, s => Assert.Equal(MigrationTrigger.Drain, s.Trigger));
        Assert.All(plan.Steps, s => Assert.NotEqual("h1", s.Move.To));
        Assert.Equal("h3", plan.Steps[0].Move.To);
        Assert.Empty(plan.Stuck);
    }

    [Fact]
    public void Drain_honours_the_per_host_limit()
    {
        var plan = Plan(Input([Host("h1", 4, 4096, "a", true, Vm("a", 0.5), Vm("b", 0.5)), Host("h2"), Host("h3")]),
            RebalanceSettings.Default, rebalance: false);
        Assert.Single(plan.Steps);
    }

    [Fact]
    public void Drain_moves_a_vm_with_a_disk_only_to_a_host_that_sees_its_image()
    {
        const string image = "/shared/a.img";
        const string identity = "11111111-1111-1111-1111-111111111111";
        var vm = Vm("disked", 0.5) with { Disks = [new Cluster.Contracts.Vms.DiskSpec(image, Identity: identity)] };
        Dictionary<string, Cluster.Contracts.Hosts.DiskSeen> Seeing(bool exists, string? id) => new() { [image] = new(image, exists, id) };
        var plan = Plan(Input([
            Host("h1", 4, 4096, "a", true, vm),
            Host("h2", Vm("busy", 2)) with { Disks = Seeing(true, identity) },
            Host("h3") with { Disks = Seeing(false, null) },
            Host("h4") with { Disks = Seeing(true, "22222222-2222-2222-2222-222222222222") },
        ]), rebalance: false);
        Assert.Equal("h2", Assert.Single(plan.Steps).Move.To);
    }

    [Fact]
    public void Drain_names_a_vm_whose_image_no_other_host_sees_as_stuck_on_its_disks()
    {
        var vm = Vm("disked", 0.5) with { Disks = [new Cluster.Contracts.Vms.DiskSpec("/shared/a.img")] };
        var plan = Plan(Input([Host("h1", 4, 4096, "a", true, vm), Host("h2"), Host("h3")]), rebalance: false);
        Assert.Empty(plan.Steps);
        Assert.StartsWith("disks:", plan.Stuck["h1"]["disked"]);
        Assert.Contains("/shared/a.img", plan.Stuck["h1"]["disked"]);
    }

    [Fact]
    public void Drain_names_the_vms_that_fit_nowhere_with_the_placement_reason()
    {
        var plan = Plan(Input([
            Host("h1", 4, 4096, "a", true, Vm("zoned", 0.5, requires: ("zone", "c")), Vm("huge", 0.5, memoryMiB: 8192), Vm("ok", 0.5)),
            Host("h2", 4, 4096, "b", false),
            Host("h3", 4, 4096, "a", true),
        ]), rebalance: false);
        Assert.Equal("ok", Assert.Single(plan.Steps).Move.VmId);
        Assert.Equal("h2", plan.Steps[0].Move.To);
        var stuck = plan.Stuck["h1"];
        Assert.StartsWith("labels:", stuck["zoned"]);
        Assert.StartsWith("memory:", stuck["huge"]);
    }

    [Fact]
    public void Moves_in_flight_count_against_the_limits_and_their_vms_stay_put()
    {
        var hosts = new[] { Host("h1", Vm("a", 1), Vm("b", 1), Vm("c", 1)), Host("h2"), Host("h3") };
        var settings = RebalanceSettings.Default with { Threshold = 0.05 };
        var plan = Plan(Input(hosts, pending: [new PendingMove("a", "h1", "h2", Active: true)]), settings);
        Assert.DoesNotContain(plan.Steps, s => s.Move.VmId == "a" || s.Move.From == "h1" || s.Move.To == "h2");
        var settled = Plan(Input(hosts, pending: [new PendingMove("a", "h1", "h2", Active: false)]), settings);
        var step = Assert.Single(settled.Steps);
        Assert.Equal(("h1", "h3"), (step.Move.From, step.Move.To));
    }

    [Fact]
    public void Held_vms_are_not_moved()
    {
        var plan = Plan(Input([Host("h1", Vm("a", 2), Vm("b", 2)), Host("h2")], held: new HashSet<string> { "a" }));
        Assert.Equal("b", Assert.Single(plan.Steps).Move.VmId);
    }

    [Fact]
    public void Without_rebalancing_only_drains_are_planned()
    {
        var plan = Plan(Input([Host("h1", Vm("a", 2), Vm("b", 2)), Host("h2")]), rebalance: false);
        Assert.True(plan.Imbalance > Loose.Threshold);
        Assert.Empty(plan.Steps);
    }

    [Fact]
    public void Explains_each_move_with_loads_imbalance_gain_cost_and_rules()
    {
        var step = Assert.Single(Plan(Input([Host("h1", Vm("a", 2), Vm("b", 2)), Host("h2")]), Loose with { MaxMoves = 1 }).Steps);
        Assert.Equal("1.0000", step.Inputs["load.h1"]);
        Assert.Equal("0.0000", step.Inputs["load.h2"]);
        Assert.Equal("0.5000", step.Inputs["imbalance.before"]);
        Assert.Equal("0.0000", step.Inputs["imbalance.after"]);
        Assert.Contains("vCPUs 1/16", step.Inputs["rules"]);
        Assert.Contains("h1 load 1.00 -> 0.50", step.Move.Summary);
        Assert.Contains("gain 0.500", step.Move.Summary);
    }
}
