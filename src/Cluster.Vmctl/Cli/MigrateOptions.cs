using System.Globalization;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Validation;

namespace Cluster.Vmctl.Cli;

/// <summary>Builds a <see cref="MigrateVm"/> from <c>vmctl migrate VM --to HOST</c> and its limits.</summary>
public static class MigrateOptions
{
    /// <summary>The options migrate accepts.</summary>
    public static readonly IReadOnlySet<string> Names = new HashSet<string>
    {
        "--to", "--downtime-ms", "--bandwidth", "--mode", "--connections", "--wait", "--cancel",
    };

    /// <summary>The request, or null with <paramref name="error"/> naming the bad option.</summary>
    public static MigrateVm? Parse(string vm, CommandLine line, out string? error)
    {
        error = null;
        if (line.Get("--to") is not { Length: > 0 } to)
        {
            error = "'migrate' needs --to HOST (a host:port as 'vmctl nodes' lists it)";
            return null;
        }
        var limits = MigrationLimits.Default;
        if (line.Get("--downtime-ms") is { } d)
        {
            if (!int.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) || ms <= 0)
            {
                error = $"bad --downtime-ms '{d}' (a whole number of milliseconds above 0)";
                return null;
            }
            limits = limits with { DowntimeMs = ms };
        }
        if (line.Get("--bandwidth") is { } b)
        {
            if (!SizeText.TryParse(b, out var bytes, out var why) || bytes > long.MaxValue)
            {
                error = $"bad --bandwidth '{b}' (bytes per second: 500K, 100M, 1G or a plain number; 0 for no cap): {why ?? "too large"}";
                return null;
            }
            limits = limits with { BandwidthBytesPerSecond = (long)bytes };
        }
        if (line.Get("--mode") is { } m)
        {
            if (ParseStrategy(m) is not { } strategy)
            {
                error = $"bad --mode '{m}' (precopy, postcopy or auto)";
                return null;
            }
            limits = limits with { Strategy = strategy };
        }
        if (line.Get("--connections") is { } c)
        {
            if (!int.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
            {
                error = $"bad --connections '{c}' (1 or more)";
                return null;
            }
            limits = limits with { Connections = n };
        }
        return new MigrateVm(vm, to, limits, MigrationCause.ByOperator);
    }

    /// <summary>precopy, postcopy or auto (any case, with or without a dash), or null.</summary>
    public static MigrationStrategy? ParseStrategy(string text) => text.ToLowerInvariant() switch
    {
        "precopy" or "pre-copy" => MigrationStrategy.PreCopy,
        "postcopy" or "post-copy" => MigrationStrategy.PostCopy,
        "auto" => MigrationStrategy.Auto,
        _ => null,
    };
}
