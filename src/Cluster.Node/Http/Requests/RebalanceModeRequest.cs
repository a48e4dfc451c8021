using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Cluster.Node.Http.Requests;

/// <summary>The body of <c>PUT /api/v1/rebalance</c>: the rebalancer's mode.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record RebalanceModeRequest
{
    /// <summary>off, recommend or automatic.</summary>
    [Description("off, recommend or automatic.")]
    public required string Mode { get; init; }
}
