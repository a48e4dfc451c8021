using System.Diagnostics;
using Cluster.Actors.Placement;
using Cluster.Contracts.Hosts;

namespace ScaleBench.Sim;

/// <summary>
/// HA restart planning after a host crash, the way <see cref="ResourceAwareAllocationStrategy.AllocateShard"/> places
/// each shard whose decided host has no region any more: the VM's decision from the board,
/// <see cref="PlacementBoard.Views"/> restricted to the live hosts, the <see cref="Placer"/>, and the new decision
/// recorded on the board (so the next VM sees it). Not simulated: the priority delay the strategy inserts before
/// each such VM (20 ms per priority step below 10, to let higher priorities go first), which is waiting, not planning,
/// and the pub-sub publish.
/// </summary>
public sealed class HaRun(SimCluster cluster, PlacementSettings settings)
{
    public Timings PerVm { get; } = new();
    public Timings Views { get; } = new();
    public Timings Choose { get; } = new();
    public List<string> Stuck { get; } = [];
    public double TotalMs { get; private set; }
    public int Vms { get; private set; }
    public double PriorityDelayMs { get; private set; }

    /// <summary>Crashes <paramref name="host"/> and plans the restart of each of its VMs (higher priority first).</summary>
    public void Run(string host)
    {
        var board = cluster.Board;
        var down = cluster.Fail(host);
        Vms = down.Count;
        var live = cluster.Hosts.Where(h => h != host).ToHashSet(StringComparer.Ordinal);
        var start = Stopwatch.GetTimestamp();
        foreach (var vm in down.OrderByDescending(v => cluster.SpecOf[v].Priority).ThenBy(v => v, StringComparer.Ordinal))
        {
            var t0 = Stopwatch.GetTimestamp();
            var decided = board.DecisionFor(vm) ?? throw new InvalidOperationException($"no decision for {vm}");
            PriorityDelayMs += 20 * Math.Clamp(10 - decided.Spec.Priority, 0, 10);
            var views = board.Views(settings.PendingFor, live);
            var t = Views.Since(t0);
            var result = Placer.Choose(decided.Spec, views, settings);
            Choose.Since(t);
            if (result.Placed)
            {
                board.Decide(new PlacementDecided(decided.Spec, result.Host!));
                cluster.Run(vm, result.Host!);
            }
            else
            {
                Stuck.Add($"{vm}: {result.Resource}: {result.Message}");
            }
            PerVm.Since(t0);
        }
        TotalMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }
}
