using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Cluster.Node.Http.Requests;

/// <summary>The body of <c>POST /api/v1/tokens</c>: a new bearer token.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record TokenRequest
{
    /// <summary>viewer, operator or admin.</summary>
    [Description("viewer, operator or admin.")]
    public string? Role { get; init; }

    /// <summary>A name for people (ROLE-token when absent).</summary>
    public string? Name { get; init; }

    /// <summary>How long it works: a duration like 90m, 12h or 30d (30d when absent).</summary>
    [Description("A duration like 90m, 12h or 30d (30d when absent).")]
    public string? Expires { get; init; }
}
