using System.Text.Json;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Validation;

namespace Cluster.Node.Http;

/// <summary>
/// Reads the HTTP API's migration and rebalancing bodies. A migration: {"to" (host:port), "downtimeMs"?,
/// "bandwidth"? (bytes per second, a number or a size like "100M"; 0 for no cap), "mode"?
/// (precopy|postcopy|auto), "connections"?}; unset limits take <see cref="MigrationLimits.Default"/>.
/// The rebalancer's mode: {"mode": off|recommend|automatic}. Unknown fields and wrong types are refused
/// with a message naming the field.
/// </summary>
public static class MigrationJson
{
    private static readonly HashSet<string> MigrateFields = ["to", "downtimeMs", "bandwidth", "mode", "connections"];
    private static readonly HashSet<string> ModeFields = ["mode"];

    /// <summary>The request to migrate <paramref name="vmId"/>; null with <paramref name="error"/> set when the JSON is not one.</summary>
    public static MigrateVm? ParseMigrate(string vmId, JsonElement json, out string? error)
    {
        error = null;
        try
        {
            RequireObject(json, MigrateFields);
            var to = Str(json, "to") ?? throw new FormatException("'to' (the target host:port) is required");
            var limits = MigrationLimits.Default;
            if (Int(json, "downtimeMs") is { } downtime)
                limits = limits with { DowntimeMs = downtime > 0 ? downtime : throw new FormatException("'downtimeMs' must be above 0") };
            if (json.TryGetProperty("bandwidth", out var b))
                limits = limits with
                {
                    BandwidthBytesPerSecond =
                        b.ValueKind == JsonValueKind.Number && b.TryGetInt64(out var n) && n >= 0 ? n
                        : b.ValueKind == JsonValueKind.String && SizeText.TryParse(b.GetString()!, out var size) && size <= long.MaxValue ? (long)size
                        : throw new FormatException("'bandwidth' must be bytes per second: a number or a size like \"100M\""),
                };
            if (Str(json, "mode") is { } mode)
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
            if (Int(json, "connections") is { } connections)
                limits = limits with { Connections = connections >= 1 ? connections : throw new FormatException("'connections' must be 1 or more") };
            return new MigrateVm(vmId, to, limits, MigrationCause.ByOperator);
        }
        catch (FormatException e)
        {
            error = e.Message;
            return null;
        }
    }

    /// <summary>The request to set the rebalancer's mode; null with <paramref name="error"/> set when the JSON is not one.</summary>
    public static SetRebalanceMode? ParseRebalanceMode(JsonElement json, out string? error)
    {
        error = null;
        try
        {
            RequireObject(json, ModeFields);
            var mode = Str(json, "mode") ?? throw new FormatException("'mode' is required");
            return new SetRebalanceMode(mode.ToLowerInvariant() switch
            {
                "off" => RebalanceMode.Off,
                "recommend" => RebalanceMode.Recommend,
                "automatic" => RebalanceMode.Automatic,
                _ => throw new FormatException($"'mode' must be off, recommend or automatic, not '{mode}'"),
            });
        }
        catch (FormatException e)
        {
            error = e.Message;
            return null;
        }
    }

    private static void RequireObject(JsonElement json, IReadOnlySet<string> known)
    {
        if (json.ValueKind != JsonValueKind.Object)
            throw new FormatException("the body must be a JSON object");
        if (json.EnumerateObject().Select(p => p.Name).FirstOrDefault(n => !known.Contains(n)) is { } unknown)
            throw new FormatException($"unknown field '{unknown}'");
    }

    private static string? Str(JsonElement json, string name) =>
        json.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw new FormatException($"'{name}' must be a string") : null;

    private static int? Int(JsonElement json, string name) =>
        json.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw new FormatException($"'{name}' must be an integer") : null;
}
