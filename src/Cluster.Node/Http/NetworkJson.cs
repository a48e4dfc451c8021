using System.Text.Json;
using Cluster.Contracts.Networks;
using Cluster.Node.Http.Requests;

namespace Cluster.Node.Http;

/// <summary>
/// Reads the HTTP API's network body, a <see cref="NetworkRequest"/>: {"name", "mode": nat|bridge|overlay, "subnet"?
/// (CIDR), "bridge"? (bridge mode: the host bridge), "mtu"?}. Unknown fields and wrong types are refused with a message
/// naming the field; the values are checked by the network registry.
/// </summary>
public static class NetworkJson
{
    /// <summary>The request for a network; null with <paramref name="error"/> set when the JSON is not one.</summary>
    public static CreateNetwork? ParseCreate(JsonElement json, out string? error)
    {
        if (RequestJson.Read(json, ApiJsonContext.Default.NetworkRequest, out error) is not { } request)
            return null;
        NetworkMode? mode = request.Mode switch
        {
            "nat" => NetworkMode.Nat, "bridge" => NetworkMode.Bridge, "overlay" => NetworkMode.Overlay, _ => null,
        };
        if (mode is null)
        {
            error = "'mode' must be nat, bridge or overlay";
            return null;
        }
        return new CreateNetwork(new NetworkSpec(request.Name, mode.Value, request.Subnet, request.Bridge, request.Mtu ?? 0));
    }
}
