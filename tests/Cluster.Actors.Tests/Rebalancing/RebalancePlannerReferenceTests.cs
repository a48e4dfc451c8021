using Cluster.Actors.Placement;
using Cluster.Actors.Rebalancing;
using static Cluster.Actors.Tests.Rebalancing.PlannerCluster;

namespace Cluster.Actors.Tests.Rebalancing;

/// <summary>
/// The planner's rebalance moves (target sets, bounds, best-first sources, the Placer asked about the best candidate only)
/// are those of the plain rule evaluated the long way: at each step every VM to every other host, the Placer asked about
/// each candidate that beats the best so far.
/// </summary>
public sealed class RebalancePlannerReferenceTests
{
    [Fact]
    public void Plans_the_moves_of_a_plain_evaluation_of_every_candidate_on_generated_clusters()
    {
        var random = new Random(17);
        var (moves, refusals) = (0, 0);
        for (var round = 0; round < 300; round++)
        {
            var (input, settings) = Generate(random, round);
            var plan = RebalancePlanner.Plan(input, settings, Placing, rebalance: true);
            var (reference, refused) = Reference(input, settings, Placing);
            var planned = plan.Steps.Select(s => (s.Move.VmId, s.Move.From, s.Move.To)).ToList();
            Assert.True(reference.SequenceEqual(planned), $"round {round}: the plain evaluation moves {string.Join(", ", reference)}; the planner {string.Join(", ", planned)}");
            moves += reference.Count;
            refusals += refused;
        }
        Assert.True(moves > 300, $"the generated clusters need moves ({moves})");
        Assert.True(refusals > 30, $"the Placer refuses some of the best candidates by their figures ({refusals})");
    }

    /// <summary>
    /// A small cluster of 2-7 hosts in two zones (sometimes one without vCPUs) with VMs whose loads come in quarters (so
    /// equal gains are common and the tie-breaks count), some bound to a zone, some in anti-affinity groups, some of unknown
    /// spec; recent moves for the cool-down and the no-undo rule; min-gain and limits that vary.
    /// </summary>
    private static (RebalanceInput Input, RebalanceSettings Settings) Generate(Random random, int round)
    {
        var hostCount = random.Next(2, 8);
        var vmNumber = 0;
        var hosts = Enumerable.Range(0, hostCount).Select(h =>
        {
            var vcpus = random.Next(12) == 0 ? 0 : 2 << random.Next(3);
            var zone = random.Next(2) == 0 ? "a" : "b";
            var vms = Enumerable.Range(0, random.Next(7)).Select(_ =>
            {
                var id = $"vm{vmNumber++:D2}";
                var vmVcpus = random.Next(1, 4);
                var load = random.Next(0, 9) * 0.25;
                var group = random.Next(5) == 0 ? $"g{random.Next(2)}" : null;
                IReadOnlyDictionary<string, string>? requires = random.Next(4) switch
                {
                    0 => new Dictionary<string, string> { ["zone"] = random.Next(2) == 0 ? "a" : "b" },
                    1 => null,
                    _ => new Dictionary<string, string>(),
                };
                return new PlannerVm(id, vmVcpus, (ulong)random.Next(1, 9) * 128 * MiB, group, load, requires);
            }).ToArray();
            return new PlannerHost($"h{round}-{h}", vcpus, (ulong)random.Next(2, 9) * 256 * MiB,
                new Dictionary<string, string> { ["zone"] = zone }, false, vms);
        }).ToList();
        var all = hosts.SelectMany(h => h.Vms.Select(v => (v.VmId, h.Host))).ToList();
        var history = all.Where(_ => random.Next(8) == 0).Select(v => new RecentMove(v.VmId, hosts[random.Next(hostCount)].Host, v.Host,
            Now - TimeSpan.FromSeconds(random.Next(2) == 0 ? 1 : Loose.CoolDown.TotalSeconds + 1))).ToList();
        var settings = Loose with
        {
            Threshold = random.Next(2) == 0 ? 0.02 : 0.1,
            MinGain = random.Next(2) == 0 ? 1e-6 : 0.01,
            MaxMoves = random.Next(3) == 0 ? 2 : 100,
            MaxMovesPerHost = random.Next(3) == 0 ? 1 : 100,
        };
        return (Input(hosts, history: history), settings);
    }

    /// <summary>
    /// The rebalance rule the long way: while the imbalance is above the threshold and a move may start, every movable VM
    /// (not moved in this plan, not cooling down) of every open host to every other open host it did not leave recently;
    /// among those that gain the minimum, the best by gain per cost, then the cheaper, then the lower VM id and host address,
    /// each asked of the Placer when it beats the best so far.
    /// </summary>
    private static (List<(string Vm, string From, string To)> Moves, int Refused) Reference(
        RebalanceInput input, RebalanceSettings settings, PlacementSettings placement)
    {
        var world = new RebalanceWorld(input.Hosts, []);
        var recent = input.History.Where(m => input.Now - m.At < settings.History).ToList();
        var cooling = recent.Where(m => input.Now - m.At < settings.CoolDown).Select(m => m.VmId).ToHashSet();
        var moved = new HashSet<string>();
        var perHost = new Dictionary<string, int>();
        var hosts = world.Hosts.Select(h => h.Host).ToList();
        var moves = new List<(string Vm, string From, string To)>();
        var refused = 0;
        bool Open(string host) => perHost.GetValueOrDefault(host) < settings.MaxMovesPerHost;
        while (moves.Count < settings.MaxMoves && world.Imbalance() is var current && current > settings.Threshold)
        {
            (PlannerVm Vm, string From, string To, double Score, double Cost)? best = null;
            foreach (var from in hosts.Where(Open))
            {
                foreach (var vm in world.VmsOn(from).Where(v => !moved.Contains(v.VmId) && !cooling.Contains(v.VmId)))
                {
                    var cost = MoveCost.Of(vm, settings).Seconds;
                    foreach (var to in hosts.Where(t => t != from && Open(t) && !recent.Any(m => m.VmId == vm.VmId && m.From == t)))
                    {
                        var gain = current - world.ImbalanceIf(vm, from, to);
                        if (gain < settings.MinGain)
                            continue;
                        var score = gain / cost;
                        if (best is { } b && !Better(score, cost, vm.VmId, to, b.Score, b.Cost, b.Vm.VmId, b.To))
                            continue;
                        var request = new PlacementRequest(vm.VmId, vm.Vcpus, vm.MemoryBytes, vm.AntiAffinityGroup,
                            vm.RequiredLabels ?? world.Host(from).Labels);
                        if (Placer.Choose(request, [world.View(to)], placement).Placed)
                            best = (vm, from, to, score, cost);
                        else
                            refused++;
                    }
                }
            }
            if (best is not { } chosen)
                break;
            world.Move(chosen.Vm, chosen.From, chosen.To);
            moved.Add(chosen.Vm.VmId);
            perHost[chosen.From] = perHost.GetValueOrDefault(chosen.From) + 1;
            perHost[chosen.To] = perHost.GetValueOrDefault(chosen.To) + 1;
            moves.Add((chosen.Vm.VmId, chosen.From, chosen.To));
        }
        return (moves, refused);
    }

    /// <summary>Higher gain per cost (relative tolerance 1e-9), then the cheaper move, then the lower VM id and host address.</summary>
    private static bool Better(double score, double cost, string vm, string to, double bestScore, double bestCost, string bestVm, string bestTo)
    {
        if (Math.Abs(score - bestScore) > 1e-9 * Math.Max(1, Math.Abs(bestScore)))
            return score > bestScore;
        if (Math.Abs(cost - bestCost) > 1e-9)
            return cost < bestCost;
        var byVm = string.CompareOrdinal(vm, bestVm);
        return byVm != 0 ? byVm < 0 : string.CompareOrdinal(to, bestTo) < 0;
    }
}
