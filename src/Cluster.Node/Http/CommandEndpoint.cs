using System.Globalization;
using System.Text;
using Akka.Actor;
using Cluster.Contracts.Access;
using Cluster.Contracts.Json;
using Cluster.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Cluster.Node.Http;

/// <summary>
/// <c>POST /api/v1/command</c>: any control contract over HTTPS, for vmctl and programs that would otherwise start an
/// ActorSystem to reach the node. The body is the contract's MessagePack bytes and <see cref="ContractHeader"/> names its
/// type, exactly as Akka.Remote would carry it; the node seals it with the request's bearer token into the same
/// <see cref="BearerCommand"/> the ClusterClient path sends, so the access gate checks, records and forwards it in one place.
/// The reply comes back the same way: 200 with its type in <see cref="ContractHeader"/>; 400 for a body that is no
/// contract, 413 over the contract size cap, 502 (<see cref="FailureHeader"/>) when the cluster answers with a failure,
/// 504 when it does not answer within the time asked for (<see cref="TimeoutHeader"/>, milliseconds, at most
/// <see cref="MaxTimeout"/>).
/// The same contracts travel as JSON (<see cref="ContractJson"/>, for the NativeAOT vmctl, which cannot run MessagePack's
/// dynamic resolver): a body with <c>Content-Type: application/json</c> is read as JSON and sealed as the same MessagePack
/// envelope; the reply is JSON when the request's <c>Accept</c> names <c>application/json</c> (or, without an Accept,
/// when the request was JSON).
/// </summary>
public static class CommandEndpoint
{
    /// <summary>The route.</summary>
    public const string Path = "/api/v1/command";

    /// <summary>The content type of both bodies.</summary>
    public const string ContentType = "application/msgpack";

    /// <summary>The other content type of both bodies.</summary>
    public const string JsonContentType = ContractJson.ContentType;

    /// <summary>The header that names the body's contract (its type's full name).</summary>
    public const string ContractHeader = "X-Contract";

    /// <summary>The header with a failure's message (502).</summary>
    public const string FailureHeader = "X-Failure";

    /// <summary>The header with how long the caller waits, in milliseconds.</summary>
    public const string TimeoutHeader = "X-Timeout-Ms";

    /// <summary>The longest a caller may ask the node to wait for the cluster.</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromMinutes(2);

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Maps the route (as a route handler, not a bare request delegate, so that the OpenAPI document describes it).</summary>
    public static void Map(WebApplication app, IActorRef gate) =>
        app.MapPost(Path, (Delegate)((HttpContext c) => HandleAsync(c, gate)))
            .WithSummary($"Any control contract in MessagePack or JSON, its type named in {ContractHeader}; the reply comes back the same way (JSON when Accept names {JsonContentType}).")
            .Accepts<byte[]>(ContentType, JsonContentType)
            .Produces<byte[]>(StatusCodes.Status200OK, ContentType, JsonContentType);

    private static async Task HandleAsync(HttpContext context, IActorRef gate)
    {
        var request = context.Request;
        var manifest = request.Headers[ContractHeader].ToString();
        if (request.ContentLength is > MessagePackContractSerializer.DefaultMaxPayloadBytes)
        {
            await Refuse(context, StatusCodes.Status413PayloadTooLarge, $"a command is at most {MessagePackContractSerializer.DefaultMaxPayloadBytes} bytes");
            return;
        }
        var payload = await ReadBodyAsync(request, MessagePackContractSerializer.DefaultMaxPayloadBytes);
        if (payload is null)
        {
            await Refuse(context, StatusCodes.Status413PayloadTooLarge, $"a command is at most {MessagePackContractSerializer.DefaultMaxPayloadBytes} bytes");
            return;
        }
        var jsonIn = IsJson(request.ContentType);
        var jsonOut = WantsJson(request.Headers.Accept.ToString(), jsonIn);
        // Decoded here too, so that a body that is no contract is a 400 at the edge and never a message in the cluster.
        var command = jsonIn ? ContractJson.Decode(manifest, payload, out var error) : BearerCommands.Decode(manifest, payload, out error);
        if (command is null)
        {
            await Refuse(context, StatusCodes.Status400BadRequest, error ?? "not a contract");
            return;
        }
        if (jsonIn)
        {
            // The gate takes what the wire carries: the same envelope as a MessagePack request's.
            try
            {
                (manifest, payload) = BearerCommands.Encode(command);
            }
            catch (System.Runtime.Serialization.SerializationException e)
            {
                await Refuse(context, StatusCodes.Status400BadRequest, e.Message);
                return;
            }
        }
        var timeout = DefaultTimeout;
        var asked = request.Headers[TimeoutHeader].ToString();
        if (asked.Length > 0)
        {
            if (!int.TryParse(asked, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) || ms <= 0)
            {
                await Refuse(context, StatusCodes.Status400BadRequest, $"bad {TimeoutHeader} '{asked}'");
                return;
            }
            timeout = TimeSpan.FromMilliseconds(Math.Min(ms, MaxTimeout.TotalMilliseconds));
        }
        object reply;
        try
        {
            reply = await gate.Ask<object>(new BearerCommand(RequestGuard.TokenOf(context), manifest, payload), timeout);
        }
        catch (AskTimeoutException)
        {
            await Refuse(context, StatusCodes.Status504GatewayTimeout, $"no answer within {timeout.TotalSeconds:0.#} s");
            return;
        }
        catch (Exception e)
        {
            // Ask turns a Status.Failure answer into its exception.
            await Failed(context, e.Message);
            return;
        }
        if (reply is Status.Failure failure)
        {
            await Failed(context, failure.Cause?.Message ?? "failed");
            return;
        }
        byte[] body;
        try
        {
            (manifest, body) = jsonOut ? ContractJson.Encode(reply) : BearerCommands.Encode(reply);
        }
        catch (Exception e) when (e is System.Runtime.Serialization.SerializationException or ArgumentException)
        {
            await Refuse(context, StatusCodes.Status502BadGateway, $"the cluster answered {reply.GetType().Name}, which has no wire form: {e.Message}");
            return;
        }
        if (reply is AccessDenied { Reason: Denial.Unauthenticated })
            context.Response.Headers.WWWAuthenticate = "Bearer";
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = jsonOut ? JsonContentType : ContentType;
        context.Response.Headers[ContractHeader] = manifest;
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body);
    }

    /// <summary>Whether a Content-Type is JSON (application/json, with or without parameters).</summary>
    private static bool IsJson(string? contentType) =>
        contentType is not null && MediaTypeHeaderValue.TryParse(contentType, out var media)
                                && string.Equals(media.MediaType.Value, JsonContentType, StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether the reply is JSON: the Accept header names application/json before (or without) MessagePack; no
    /// Accept, or one that names neither, answers in the request's own form.</summary>
    private static bool WantsJson(string accept, bool requestWasJson)
    {
        if (accept.Length == 0 || !MediaTypeHeaderValue.TryParseList([accept], out var types))
            return requestWasJson;
        var ordered = types.OrderByDescending(t => t.Quality ?? 1.0).Select(t => t.MediaType.Value).ToList();
        var json = ordered.FindIndex(t => string.Equals(t, JsonContentType, StringComparison.OrdinalIgnoreCase));
        var pack = ordered.FindIndex(t => string.Equals(t, ContentType, StringComparison.OrdinalIgnoreCase));
        return json >= 0 && (pack < 0 || json < pack) || json < 0 && pack < 0 && requestWasJson;
    }

    /// <summary>The whole body, or null when it is longer than <paramref name="limit"/>.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, long limit)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 << 10];
        int n;
        while ((n = await request.Body.ReadAsync(chunk)) > 0)
        {
            if (buffer.Length + n > limit) return null;
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    private static Task Failed(HttpContext context, string message)
    {
        context.Response.Headers[FailureHeader] = Uri.EscapeDataString(message);
        return Refuse(context, StatusCodes.Status502BadGateway, message);
    }

    private static Task Refuse(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(message)).AsTask();
    }
}
