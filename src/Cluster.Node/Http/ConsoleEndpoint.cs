using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Akka.Actor;
using Cluster.Contracts.Validation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Cluster.Node.Http;

/// <summary>
/// <c>GET /api/v1/vms/{id}/console</c>, upgraded to a WebSocket: the VM's serial console, both ways. Binary messages
/// from the server are console output (the recent backlog first); any message from the client is typed into the serial
/// port. One <see cref="ConsoleBridge"/> actor per socket attaches through the access gate with the caller's token, so
/// the gate decides (the console needs the operator role). A refusal closes the socket with its reason: 1008 (policy
/// violation) for access denied, 1000 for an unknown VM or a VM that takes no input.
/// </summary>
/// <remarks>
/// The token comes as <c>Authorization: Bearer TOKEN</c>, or, from a browser (which cannot set headers on a
/// WebSocket), as the subprotocol <c>bearer.TOKEN</c> offered beside <see cref="Protocol"/>
/// (<c>new WebSocket(url, ["cluster-console", "bearer." + token])</c>); the server answers with
/// <see cref="Protocol"/> alone, never the token. <see cref="RequestGuard"/> checks Origin and Host as for every request.
/// </remarks>
public static class ConsoleEndpoint
{
    /// <summary>The subprotocol the server selects.</summary>
    public const string Protocol = "cluster-console";

    /// <summary>The prefix of the subprotocol that carries a token.</summary>
    public const string TokenProtocolPrefix = "bearer.";

    private const int OutboxChunks = 256;

    /// <summary>Whether <paramref name="path"/> is a console route (/api/v1/vms/ID/console).</summary>
    public static bool IsConsolePath(PathString path) =>
        path.StartsWithSegments("/api/v1/vms", out var rest) && rest.Value is { } tail
        && tail.EndsWith("/console", StringComparison.Ordinal) && tail.Count(c => c == '/') == 2;

    /// <summary>The token of a <c>bearer.TOKEN</c> subprotocol the request offers, or null.</summary>
    public static string? SubprotocolToken(HttpRequest request) =>
        request.Headers.SecWebSocketProtocol.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.StartsWith(TokenProtocolPrefix, StringComparison.Ordinal) && p.Length > TokenProtocolPrefix.Length)
            .Select(p => p[TokenProtocolPrefix.Length..])
            .FirstOrDefault();

    /// <summary>
    /// Maps the route; <paramref name="system"/> hosts the bridges, <paramref name="gate"/> is the access gate. GET for
    /// HTTP/1.1 upgrades, CONNECT for WebSockets over HTTP/2 (RFC 8441), which browsers use on HTTPS.
    /// </summary>
    public static void Map(WebApplication app, ActorSystem system, IActorRef gate) =>
        app.MapMethods("/api/v1/vms/{id}/console", [HttpMethods.Get, HttpMethods.Connect], async (HttpContext context, string id) =>
        {
            if (VmSpecValidator.CheckId(id) is { } bad)
            {
                await Results.BadRequest(new { error = "invalid", field = bad.Field, message = bad.Message }).ExecuteAsync(context);
                return;
            }
            if (!context.WebSockets.IsWebSocketRequest)
            {
                await Results.BadRequest(new { error = "not-websocket", message = "the console is a WebSocket: send an upgrade request" }).ExecuteAsync(context);
                return;
            }
            var offered = context.WebSockets.WebSocketRequestedProtocols.Contains(Protocol);
            using var socket = await context.WebSockets.AcceptWebSocketAsync(offered ? Protocol : null);
            await BridgeAsync(socket, system, gate, RequestGuard.TokenOf(context), id, context.RequestAborted);
        });

    private static async Task BridgeAsync(WebSocket socket, ActorSystem system, IActorRef gate, string token, string id, CancellationToken aborted)
    {
        var outbox = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(OutboxChunks) { SingleReader = true, SingleWriter = true });
        var ended = new TaskCompletionSource<ConsoleBridge.ConsoleEnd>(TaskCreationOptions.RunContinuationsAsynchronously);
        var bridge = system.ActorOf(ConsoleBridge.Props(gate, token, id, outbox.Writer, ended));
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var sending = SendAsync(socket, outbox.Reader, cancel.Token);
        var receiving = ReceiveAsync(socket, bridge, cancel.Token);
        await Task.WhenAny(ended.Task, receiving);
        bridge.Tell(ConsoleBridge.Hangup.Instance);
        var end = await ended.Task;
        try
        {
            await sending;
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await socket.CloseOutputAsync(end.Status, Truncate(end.Reason), cancel.Token);
            await receiving.WaitAsync(TimeSpan.FromSeconds(5), cancel.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or TimeoutException)
        {
            // the client went away without a close handshake: nothing left to tell it
        }
        finally
        {
            await cancel.CancelAsync();
        }
    }

    private static async Task SendAsync(WebSocket socket, ChannelReader<byte[]> outbox, CancellationToken cancel)
    {
        await foreach (var data in outbox.ReadAllAsync(cancel))
            await socket.SendAsync(data, WebSocketMessageType.Binary, true, cancel);
    }

    private static async Task ReceiveAsync(WebSocket socket, IActorRef bridge, CancellationToken cancel)
    {
        var buffer = new byte[4096];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var received = await socket.ReceiveAsync(buffer, cancel);
                if (received.MessageType == WebSocketMessageType.Close)
                    return;
                if (received.Count > 0)
                    bridge.Tell(new ConsoleBridge.Typed(buffer[..received.Count]));
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // the connection dropped: the bridge hangs up
        }
    }

    /// <summary>A close reason fits in 123 bytes of UTF-8.</summary>
    private static string Truncate(string reason)
    {
        while (Encoding.UTF8.GetByteCount(reason) > 123)
            reason = reason[..^1];
        return reason;
    }
}
