namespace Cluster.Actors.Rebalancing;

/// <summary>
/// The predicted cost of a live migration, in seconds: a fixed overhead, the pre-copy transfer time and the
/// predicted guest downtime weighted by <see cref="RebalanceSettings.DowntimeWeight"/>.
/// </summary>
/// <param name="Seconds">The total cost.</param>
/// <param name="TransferSeconds">Pre-copy time: memory copied (<see cref="PlannerVm.CopiedBytes"/>) / bandwidth, stretched by 1 / (1 - dirty/bandwidth) for the rounds that resend dirtied pages.</param>
/// <param name="DowntimeSeconds">Predicted pause: the share of the downtime limit the final round fills (dirty/bandwidth, at most 1).</param>
/// <param name="DirtyBytesPerSecond">The dirty rate used (measured, or estimated from the CPU load).</param>
public sealed record MoveCost(double Seconds, double TransferSeconds, double DowntimeSeconds, double DirtyBytesPerSecond)
{
    /// <summary>Above this dirty/bandwidth ratio pre-copy converges only by throttling the guest; the cost keeps growing with the ratio.</summary>
    private const double ConvergingRatio = 0.8;

    /// <summary>Estimates the cost of moving <paramref name="vm"/>.</summary>
    public static MoveCost Of(PlannerVm vm, RebalanceSettings settings)
    {
        var bandwidth = settings.BandwidthBytesPerSecond;
        var dirty = vm.DirtyBytesPerSecond ?? vm.CpuLoad * settings.DirtyBytesPerCpuSecond;
        var ratio = dirty / bandwidth;
        var transfer = vm.CopiedBytes / bandwidth / Math.Max(1 - ratio, 1 - ConvergingRatio) * Math.Max(1, ratio / ConvergingRatio);
        var downtime = Math.Min(ratio, 1) * settings.Limits.DowntimeMs / 1000.0;
        return new MoveCost(settings.MoveOverheadSeconds + transfer + settings.DowntimeWeight * downtime, transfer, downtime, dirty);
    }
}
