using Cluster.Contracts.Migration;

namespace Cluster.Vmctl.Output;

/// <summary>A migration as vmctl prints it: the contract's figures plus its progress as a fraction.</summary>
public sealed record MigrationView(
    string VmId, string MigrationId, string Source, string Target, string State, string Strategy, int Round, bool InProgress,
    double Progress, ulong MemoryBytes, long RemainingBytes, double TransferBytesPerSecond, double DirtyBytesPerSecond, long EtaMs,
    int ThrottlePercent, DateTime StartedAt, DateTime? FinishedAt, double? DowntimeMs, double? TotalMs, long WireBytes,
    string? FailureReason, string Trigger, string CauseSummary, IReadOnlyDictionary<string, string> CauseInputs)
{
    /// <summary>The table's headers (vmctl migrations, drain --wait and top).</summary>
    public static readonly IReadOnlyList<string> Headers =
        ["VM", "FROM -> TO", "STATE", "ROUND", "PROGRESS", "REMAINING", "RATE", "DIRTY", "ETA", "THROTTLE", "RESULT"];

    public static MigrationView Of(MigrationInfo m) => new(
        m.VmId, m.MigrationId, m.Source, m.Target, m.State.ToString(), m.Strategy.ToString(), m.Round, m.InProgress, ProgressOf(m),
        m.MemoryBytes, m.RemainingBytes, m.TransferBytesPerSecond, m.DirtyBytesPerSecond, m.EtaMs, m.ThrottlePercent, m.StartedAt,
        m.FinishedAt, m.DowntimeMs, m.TotalMs, m.WireBytes, m.FailureReason, m.Cause.Trigger.ToString(), m.Cause.Summary, m.Cause.Inputs);

    /// <summary>
    /// The share of guest memory no longer waiting to be sent: 1 once completed, 0 while preparing; in the
    /// pre-copy rounds, what the remaining bytes leave of the memory size.
    /// </summary>
    public static double ProgressOf(MigrationInfo m) => m.State switch
    {
        MigrationState.Completed => 1,
        MigrationState.Preparing => 0,
        _ when m.MemoryBytes == 0 => 0,
        _ => Math.Clamp(1 - (double)Math.Max(0, m.RemainingBytes) / m.MemoryBytes, 0, 1),
    };

    /// <summary>The progress bar with its percentage.</summary>
    public string ProgressBar => $"{Human.Bar(Progress)} {Human.Percent(Progress),4}";

    /// <summary>How it ended: downtime and total once completed, the reason once failed or cancelled; empty while it runs.</summary>
    public string Result => InProgress ? ""
        : State == nameof(MigrationState.Completed)
            ? $"downtime {Human.Duration(DowntimeMs ?? -1)}, total {Human.Duration(TotalMs ?? -1)}, {Human.Bytes(WireBytes)} sent"
            : $"{State.ToLowerInvariant()}: {FailureReason ?? "no reason given"}";

    /// <summary>One table row under <see cref="Headers"/>: live figures while it runs, its <see cref="Result"/> once it ended.</summary>
    public IReadOnlyList<string> Row() => InProgress
        ? [VmId, $"{Source} -> {Target}", State, $"{Round}", ProgressBar, Human.Bytes(RemainingBytes), Human.Rate(TransferBytesPerSecond),
            Human.Rate(DirtyBytesPerSecond), Human.Duration(EtaMs), $"{ThrottlePercent}%", ""]
        : [VmId, $"{Source} -> {Target}", State, $"{Round}", ProgressBar, "", "", "", "", "", Result];
}
