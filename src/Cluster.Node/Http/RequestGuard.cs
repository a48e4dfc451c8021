using System.Net;
using Microsoft.AspNetCore.Http;

namespace Cluster.Node.Http;

/// <summary>
/// The checks every request passes before a route sees it, so that no page on another origin can act through an
/// operator's browser and no request without a token reaches the cluster:
/// <list type="number">
/// <item>Host must name the address the request came in on (or localhost on loopback); any Host where the API listens
/// on all addresses. Otherwise 400: a DNS-rebinding page gets nothing.</item>
/// <item>An Origin header must be the API's own origin (scheme://Host). Otherwise 403.</item>
/// <item>/api/... and /metrics need <c>Authorization: Bearer TOKEN</c>. Otherwise 401 (the gate judges the token itself). The console's
/// WebSocket (<see cref="ConsoleEndpoint"/>) may carry it instead as the subprotocol <c>bearer.TOKEN</c>, as browsers
/// cannot set headers on a WebSocket; on no other route.</item>
/// <item>Writes (POST, PUT, DELETE, PATCH) need <c>Content-Type: application/json</c>, bodiless ones too
/// (<see cref="CommandEndpoint"/>'s <c>application/msgpack</c>): a form cannot send either cross-site without a CORS
/// preflight, which this API never grants. Otherwise 415.</item>
/// </list>
/// GET / (the dashboard's page, which holds no data) needs no token.
/// </summary>
public sealed class RequestGuard(IPAddress listening)
{
    private const string TokenKey = "bearer-token";
    private readonly bool _anyHost = listening.Equals(IPAddress.Any) || listening.Equals(IPAddress.IPv6Any);

    /// <summary>The bearer token the guard took from the request.</summary>
    public static string TokenOf(HttpContext context) => context.Items[TokenKey] as string ?? "";

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        if (!_anyHost && !IsOwnHost(context))
        {
            await Refuse(context, StatusCodes.Status400BadRequest, "bad-host", $"Host '{request.Host}' is not this API's address");
            return;
        }
        if (request.Headers.Origin.Count > 0 && request.Headers.Origin.ToString() != $"{request.Scheme}://{request.Host}")
        {
            await Refuse(context, StatusCodes.Status403Forbidden, "forbidden-origin", $"requests from {request.Headers.Origin} are not accepted");
            return;
        }
        if (!request.Path.StartsWithSegments("/api") && !request.Path.Equals(MetricsEndpoint.MetricsPath, StringComparison.Ordinal))
        {
            await next(context);
            return;
        }
        var authorization = request.Headers.Authorization.ToString();
        var token = authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? authorization["Bearer ".Length..].Trim() : "";
        if (token.Length == 0 && ConsoleEndpoint.IsConsolePath(request.Path))
            token = ConsoleEndpoint.SubprotocolToken(request) ?? "";
        if (token.Length == 0)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await Refuse(context, StatusCodes.Status401Unauthorized, "unauthenticated", "send 'Authorization: Bearer TOKEN' (vmctl token create, or the node's DATA/admin.token)");
            return;
        }
        // The command endpoint takes a contract as MessagePack or JSON (the NativeAOT vmctl's); every other body is JSON.
        var command = request.Path.Equals(CommandEndpoint.Path, StringComparison.Ordinal);
        var wanted = command ? $"{CommandEndpoint.ContentType} or {CommandEndpoint.JsonContentType}" : "application/json";
        var given = request.ContentType?.Split(';')[0].Trim();
        if (request.Method is "POST" or "PUT" or "DELETE" or "PATCH"
            && !string.Equals(given, "application/json", StringComparison.OrdinalIgnoreCase)
            && !(command && string.Equals(given, CommandEndpoint.ContentType, StringComparison.OrdinalIgnoreCase)))
        {
            await Refuse(context, StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type",
                $"{request.Method} {request.Path} needs Content-Type: {wanted}, not '{request.ContentType}'");
            return;
        }
        context.Items[TokenKey] = token;
        await next(context);
    }

    private static bool IsOwnHost(HttpContext context)
    {
        var local = context.Connection.LocalIpAddress;
        var port = context.Connection.LocalPort;
        if (local is null)
            return false;
        if (local.IsIPv4MappedToIPv6)
            local = local.MapToIPv4();
        var host = context.Request.Host;
        if ((host.Port ?? (context.Request.IsHttps ? 443 : 80)) != port)
            return false;
        var name = host.Host.Trim('[', ']');
        return (IPAddress.TryParse(name, out var named) && named.Equals(local))
               || (IPAddress.IsLoopback(local) && string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase));
    }

    private static Task Refuse(HttpContext context, int status, string error, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new { error, message });
    }
}
