using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Cluster.Node.Http.Requests;

/// <summary>The body of <c>POST /api/v1/networks</c>; the network registry checks the values.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record NetworkRequest
{
    /// <summary>The network's name.</summary>
    public required string Name { get; init; }

    /// <summary>nat, bridge or overlay.</summary>
    [Description("nat, bridge or overlay.")]
    public string? Mode { get; init; }

    /// <summary>The subnet, as CIDR.</summary>
    public string? Subnet { get; init; }

    /// <summary>The host bridge (bridge mode).</summary>
    public string? Bridge { get; init; }

    /// <summary>The MTU (the default when absent or 0).</summary>
    public int? Mtu { get; init; }
}
