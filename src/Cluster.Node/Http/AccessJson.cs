using System.Text.Json;
using Cluster.Contracts.Access;
using Cluster.Contracts.Validation;
using Cluster.Node.Http.Requests;

namespace Cluster.Node.Http;

/// <summary>
/// Reads the HTTP API's token body, a <see cref="TokenRequest"/>: {"role": viewer|operator|admin, "name"?, "expires"? (a
/// duration: 90m, 12h, 30d; default <see cref="DefaultExpiry"/>)}. Unknown fields and wrong types are refused with a
/// message naming the field.
/// </summary>
public static class AccessJson
{
    /// <summary>The expiry of a token when none is asked for.</summary>
    public const string DefaultExpiry = "30d";

    /// <summary>The role a word names (viewer, operator, admin), or null.</summary>
    public static Role? ParseRole(string? word) => word switch
    {
        "viewer" => Role.Viewer, "operator" => Role.Operator, "admin" => Role.Admin, _ => null,
    };

    /// <summary>The request for a token; null with <paramref name="error"/> set when the JSON is not one.</summary>
    public static CreateToken? ParseCreate(JsonElement json, DateTime now, out string? error)
    {
        if (RequestJson.Read(json, ApiJsonContext.Default.TokenRequest, out error) is not { } request)
            return null;
        var role = ParseRole(request.Role);
        var expires = request.Expires ?? DefaultExpiry;
        if (role is null)
            error = "'role' must be viewer, operator or admin";
        else if (!DurationText.TryParse(expires, out var duration))
            error = $"'expires' must be a duration like 90m, 12h or 30d, not '{expires}'";
        else
            return new CreateToken(role.Value, request.Name ?? $"{role.Value.ToString().ToLowerInvariant()}-token", now + duration);
        return null;
    }
}
