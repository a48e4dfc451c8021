using Akka.Configuration;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Serialization;

namespace Cluster.Actors.Rebalancing;

/// <summary>Tunables of the rebalancer, from <c>cluster-hypervisor.rebalancer</c> (defaults in hocon/rebalancer.conf).</summary>
/// <param name="Mode">The mode it starts in when its journal has none.</param>
/// <param name="Interval">How often it reads the hosts and plans.</param>
/// <param name="Threshold">The imbalance (standard deviation of host loads) above which it rebalances.</param>
/// <param name="Hold">How long the imbalance must stay above the threshold before it moves anything.</param>
/// <param name="MinGain">The least imbalance drop a rebalance move must bring.</param>
/// <param name="CoolDown">A VM moved this recently is not moved again by rebalancing.</param>
/// <param name="History">How long completed moves are remembered; a move back to a host a VM left within it is never planned.</param>
/// <param name="MaxMovesPerHost">Concurrent moves a host may take part in (as source or target).</param>
/// <param name="MaxMoves">Concurrent moves cluster-wide.</param>
/// <param name="RetryBackoff">Wait before retrying a VM whose move failed; doubled at each failure.</param>
/// <param name="RetryBackoffMax">The longest such wait.</param>
/// <param name="AcceptTimeout">A move not accepted by the VM within this is treated as failed.</param>
/// <param name="MoveTimeout">An accepted move whose migration has not ended within this is treated as failed.</param>
/// <param name="SettleTimeout">How long a completed move is assumed done while the hosts' reports do not show it yet.</param>
/// <param name="BandwidthBytesPerSecond">The migration bandwidth the cost model assumes.</param>
/// <param name="DirtyBytesPerCpuSecond">Memory a busy vCPU is assumed to dirty per second, when no migration measured the VM.</param>
/// <param name="DowntimeWeight">How many seconds of transfer one second of predicted guest downtime is worth.</param>
/// <param name="MoveOverheadSeconds">A fixed cost of every move (preparation, commit, shard hand-over).</param>
/// <param name="Limits">The limits every rebalancer migration is started with.</param>
/// <param name="SnapshotEvery">A snapshot of mode and drained hosts every this many persisted events.</param>
public sealed record RebalanceSettings(
    RebalanceMode Mode, TimeSpan Interval, double Threshold, TimeSpan Hold, double MinGain, TimeSpan CoolDown, TimeSpan History,
    int MaxMovesPerHost, int MaxMoves, TimeSpan RetryBackoff, TimeSpan RetryBackoffMax, TimeSpan AcceptTimeout, TimeSpan MoveTimeout,
    TimeSpan SettleTimeout,
    double BandwidthBytesPerSecond, double DirtyBytesPerCpuSecond, double DowntimeWeight, double MoveOverheadSeconds,
    MigrationLimits Limits, int SnapshotEvery)
{
    private const string Section = "cluster-hypervisor.rebalancer";

    /// <summary>The shipped defaults (the same as hocon/rebalancer.conf).</summary>
    public static RebalanceSettings Default { get; } = new(
        RebalanceMode.Automatic, TimeSpan.FromSeconds(2), 0.15, TimeSpan.FromSeconds(6), 0.02, TimeSpan.FromMinutes(2),
        TimeSpan.FromMinutes(10), 1, 2, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(15),
        TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(15), 1024.0 * 1024 * 1024, 64.0 * 1024 * 1024, 10.0, 1.0, MigrationLimits.Default, 50);

    /// <summary>Reads the settings from <paramref name="config"/>; missing keys keep <see cref="Default"/>.</summary>
    public static RebalanceSettings From(Config config)
    {
        var d = Default;
        TimeSpan Time(string key, TimeSpan fallback) => config.GetTimeSpan($"{Section}.{key}", fallback);
        double Number(string key, double fallback) => config.GetDouble($"{Section}.{key}", fallback);
        int Count(string key, int fallback) => config.GetInt($"{Section}.{key}", fallback);
        double Bytes(string key, double fallback) => ConfigSize.Get(config, $"{Section}.{key}") is { } bytes ? bytes : fallback;
        var settings = new RebalanceSettings(
            ParseMode(config.GetString($"{Section}.mode", "automatic")),
            Time("interval", d.Interval), Number("threshold", d.Threshold), Time("hold", d.Hold), Number("min-gain", d.MinGain),
            Time("cool-down", d.CoolDown), Time("history", d.History), Count("max-moves-per-host", d.MaxMovesPerHost),
            Count("max-moves", d.MaxMoves), Time("retry-backoff", d.RetryBackoff), Time("retry-backoff-max", d.RetryBackoffMax),
            Time("accept-timeout", d.AcceptTimeout), Time("move-timeout", d.MoveTimeout), Time("settle-timeout", d.SettleTimeout),
            Bytes("cost.bandwidth", d.BandwidthBytesPerSecond), Bytes("cost.dirty-per-cpu-second", d.DirtyBytesPerCpuSecond),
            Number("cost.downtime-weight", d.DowntimeWeight), Number("cost.move-overhead-seconds", d.MoveOverheadSeconds),
            new MigrationLimits(
                (int)Time("migration.downtime", TimeSpan.FromMilliseconds(d.Limits.DowntimeMs)).TotalMilliseconds,
                (long)Bytes("migration.bandwidth", d.Limits.BandwidthBytesPerSecond), d.Limits.Strategy, d.Limits.Connections),
            Count("snapshot-every", d.SnapshotEvery));
        if (settings.Interval <= TimeSpan.Zero || settings.MaxMoves < 1 || settings.MaxMovesPerHost < 1 || settings.BandwidthBytesPerSecond <= 0)
            throw new ConfigurationException($"{Section}: interval, max-moves, max-moves-per-host and cost.bandwidth must be positive");
        return settings;
    }

    /// <summary>Reads a mode name: off, recommend or automatic.</summary>
    public static RebalanceMode ParseMode(string name) => name switch
    {
        "off" => RebalanceMode.Off,
        "recommend" => RebalanceMode.Recommend,
        "automatic" => RebalanceMode.Automatic,
        _ => throw new ConfigurationException($"{Section}.mode must be off, recommend or automatic, not '{name}'"),
    };
}
