using System.Text.Json;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Node.Http.Requests;

namespace Cluster.Node.Http;

/// <summary>
/// Reads the HTTP API's migration and rebalancing bodies. A migration, a <see cref="MigrateRequest"/>: {"to" (host:port),
/// "downtimeMs"?, "bandwidth"? (bytes per second, a number or a size like "100M"; 0 for no cap), "mode"?
/// (precopy|postcopy|auto), "connections"?}; unset limits take <see cref="MigrationLimits.Default"/>.
/// The rebalancer's mode, a <see cref="RebalanceModeRequest"/>: {"mode": off|recommend|automatic}. Unknown fields and
/// wrong types are refused with a message naming the field.
/// </summary>
public static class MigrationJson
{
    /// <summary>The request to migrate <paramref name="vmId"/>; null with <paramref name="error"/> set when the JSON is not one.</summary>
    public static MigrateVm? ParseMigrate(string vmId, JsonElement json, out string? error)
    {
        if (RequestJson.Read(json, ApiJsonContext.Default.MigrateRequest, out error) is not { } request)
            return null;
        try
        {
            return new MigrateVm(vmId, request.To, Limits(request), MigrationCause.ByOperator);
        }
        catch (FormatException e)
        {
            error = e.Message;
            return null;
        }
    }

    private static MigrationLimits Limits(MigrateRequest r)
    {
        var limits = MigrationLimits.Default;
        if (r.DowntimeMs is { } downtime)
            limits = limits with { DowntimeMs = downtime > 0 ? downtime : throw new FormatException("'downtimeMs' must be above 0") };
        if (r.Bandwidth is { } bandwidth)
            limits = limits with
            {
                BandwidthBytesPerSecond = bandwidth.Bytes <= long.MaxValue ? (long)bandwidth.Bytes
                    : throw new FormatException($"'bandwidth' must be at most {long.MaxValue} bytes per second"),
            };
        if (r.Mode is { } mode)
            limits = limits with
            {
                Strategy = mode.ToLowerInvariant() switch
                {
                    "precopy" or "pre-copy" => MigrationStrategy.PreCopy,
                    "postcopy" or "post-copy" => MigrationStrategy.PostCopy,
                    "auto" => MigrationStrategy.Auto,
                    _ => throw new FormatException($"'mode' must be precopy, postcopy or auto, not '{mode}'"),
                },
            };
        if (r.Connections is { } connections)
            limits = limits with { Connections = connections >= 1 ? connections : throw new FormatException("'connections' must be 1 or more") };
        return limits;
    }

    /// <summary>The request to set the rebalancer's mode; null with <paramref name="error"/> set when the JSON is not one.</summary>
    public static SetRebalanceMode? ParseRebalanceMode(JsonElement json, out string? error)
    {
        if (RequestJson.Read(json, ApiJsonContext.Default.RebalanceModeRequest, out error) is not { } request)
            return null;
        RebalanceMode? mode = request.Mode.ToLowerInvariant() switch
        {
            "off" => RebalanceMode.Off,
            "recommend" => RebalanceMode.Recommend,
            "automatic" => RebalanceMode.Automatic,
            _ => null,
        };
        if (mode is null)
            error = $"'mode' must be off, recommend or automatic, not '{request.Mode}'";
        return mode is null ? null : new SetRebalanceMode(mode.Value);
    }
}
