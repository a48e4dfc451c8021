using System.Diagnostics;
using Cluster.Actors.Placement;
using Cluster.Contracts.Hosts;

namespace ScaleBench.Sim;

/// <summary>
/// Creates every VM one by one the way the <c>Scheduler</c> singleton answers a <c>CreateVm</c> (it handles one
/// request at a time): the duplicate check against the board, <see cref="PlacementBoard.Views"/> (host reports plus
/// decisions not reported yet), <see cref="Placer.Choose(Cluster.Contracts.Vms.VmSpec, IReadOnlyCollection{HostView}, PlacementSettings)"/>,
/// then <see cref="PlacementBoard.Decide"/>. The pub-sub publish of the decision and the reply are not made (no remote
/// node). Every <paramref name="reportEvery"/> placements every host reports its status, as the HostAgents do each refresh.
/// </summary>
public sealed class PlacementRun(SimCluster cluster, PlacementSettings settings, int reportEvery)
{
    public Timings Place { get; } = new();
    public Timings Exists { get; } = new();
    public Timings Views { get; } = new();
    public Timings Choose { get; } = new();
    public Timings Decide { get; } = new();
    public Timings Reports { get; } = new();
    public List<string> Refused { get; } = [];

    public void Run()
    {
        var board = cluster.Board;
        cluster.ReportAll();
        var placed = 0;
        foreach (var spec in cluster.Specs)
        {
            var start = Stopwatch.GetTimestamp();
            var exists = board.DecisionFor(spec.Id) is not null || board.Hosts().Any(h => h.Vms.Any(v => v.VmId == spec.Id));
            var t = Exists.Since(start);
            if (exists)
                throw new InvalidOperationException($"{spec.Id} exists already");
            var views = board.Views(settings.PendingFor);
            t = Views.Since(t);
            var result = Placer.Choose(spec, views, settings);
            t = Choose.Since(t);
            if (result.Placed)
                board.Decide(new PlacementDecided(spec, result.Host!));
            Decide.Since(t);
            Place.Since(start);
            if (!result.Placed)
            {
                Refused.Add($"{spec.Id}: {result.Resource}: {result.Message}");
                continue;
            }
            cluster.Run(spec.Id, result.Host!);
            if (++placed % reportEvery == 0)
            {
                var r = Stopwatch.GetTimestamp();
                cluster.ReportAll();
                Reports.Since(r);
            }
        }
        cluster.ReportAll();
    }
}
