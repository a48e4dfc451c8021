using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Cluster.Node.Http.Requests;

/// <summary>The body of <c>POST /api/v1/vms/{id}/migrate</c>; unset limits take <see cref="Contracts.Migration.MigrationLimits.Default"/>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record MigrateRequest
{
    /// <summary>The target host, HOST:PORT.</summary>
    [Description("The target host, HOST:PORT.")]
    public required string To { get; init; }

    /// <summary>The longest pause of the guest, in milliseconds (above 0).</summary>
    public int? DowntimeMs { get; init; }

    /// <summary>Bytes per second: a number or a size like "100M"; 0 for no cap.</summary>
    [Description("Bytes per second: a number or a size like \"100M\"; 0 for no cap.")]
    public JsonSize? Bandwidth { get; init; }

    /// <summary>precopy, postcopy or auto.</summary>
    [Description("precopy, postcopy or auto.")]
    public string? Mode { get; init; }

    /// <summary>Parallel data connections (1 or more).</summary>
    public int? Connections { get; init; }
}
