using System.Net;
using System.Net.WebSockets;
using System.Text;
using Cluster.Contracts.Access;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Http;

/// <summary>
/// The console WebSocket (GET /api/v1/vms/{id}/console) against the real access gate: output the stand-in control
/// plane answers reaches the socket, what the socket sends reaches the stand-in as ConsoleInput, and the guard and the
/// gate refuse what they refuse elsewhere.
/// </summary>
public sealed class ConsoleEndpointTests : IAsyncLifetime
{
    private GatedApi _api = null!;

    public async Task InitializeAsync() => _api = await GatedApi.StartAsync(m => m switch
    {
        ConsoleAttach a when a.VmId == "ghost" => new VmNotFound(a.VmId),
        ConsoleAttach a => new ConsoleOutput(a.VmId, Encoding.UTF8.GetBytes("count 1\n")),
        ConsoleInput i => new VmCommandAccepted(i.VmId, VmStatus.Running),
        ConsoleDetach d => new ConsoleDetached(d.VmId),
        _ => new NotAllowed("", $"unexpected {m.GetType().Name}"),
    });

    public async Task DisposeAsync() => await _api.DisposeAsync();

    private Uri ConsoleUri(string id) => new(new Uri(_api.Api.Urls[0].Replace("http://", "ws://", StringComparison.Ordinal)), $"/api/v1/vms/{id}/console");

    private string Origin => _api.Api.Urls[0].TrimEnd('/');

    private static ClientWebSocket Socket(string? bearer)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (bearer is not null)
            socket.Options.SetRequestHeader("Authorization", $"Bearer {bearer}");
        return socket;
    }

    private static async Task<string> ReceiveText(ClientWebSocket socket)
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = await socket.ReceiveAsync(buffer, timeout.Token);
        Assert.Equal(WebSocketMessageType.Binary, received.MessageType);
        return Encoding.UTF8.GetString(buffer, 0, received.Count);
    }

    private static async Task<WebSocketReceiveResult> ReceiveClose(ClientWebSocket socket)
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        WebSocketReceiveResult received;
        do
            received = await socket.ReceiveAsync(buffer, timeout.Token);
        while (received.MessageType != WebSocketMessageType.Close);
        return received;
    }

    [Fact]
    public async Task An_operator_sees_the_console_and_what_it_types_reaches_the_vm_then_it_detaches()
    {
        using var socket = Socket(await _api.NewToken(Role.Operator, "ops"));
        socket.Options.SetRequestHeader("Origin", Origin);
        await socket.ConnectAsync(ConsoleUri("web-1"), CancellationToken.None);
        Assert.Equal("count 1\n", await ReceiveText(socket));

        await socket.SendAsync(Encoding.UTF8.GetBytes("ls\n"), WebSocketMessageType.Binary, true, CancellationToken.None);
        await ClusterVmctl.Eventually(() => Task.FromResult(_api.Received.OfType<ConsoleInput>().Any(i => i.VmId == "web-1" && Encoding.UTF8.GetString(i.Data) == "ls\n")),
            "the typed bytes reach the VM as ConsoleInput", 10);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        await ClusterVmctl.Eventually(() => Task.FromResult(_api.Received.OfType<ConsoleDetach>().Any(d => d.VmId == "web-1")),
            "closing the socket detaches from the console", 10);
        Assert.Equal([typeof(ConsoleAttach), typeof(ConsoleInput), typeof(ConsoleDetach)], _api.Received.Select(m => m.GetType()));
    }

    [Fact]
    public async Task A_viewer_is_refused_the_console_and_the_socket_closes_with_a_policy_violation()
    {
        using var socket = Socket(await _api.NewToken(Role.Viewer, "watcher"));
        await socket.ConnectAsync(ConsoleUri("web-1"), CancellationToken.None);
        var closed = await ReceiveClose(socket);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, closed.CloseStatus);
        Assert.Contains("access denied (forbidden)", closed.CloseStatusDescription);
        Assert.Empty(_api.Received);
    }

    [Fact]
    public async Task An_unknown_vm_closes_the_socket_with_the_reason()
    {
        using var socket = Socket(_api.AdminToken);
        await socket.ConnectAsync(ConsoleUri("ghost"), CancellationToken.None);
        var closed = await ReceiveClose(socket);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, closed.CloseStatus);
        Assert.Equal("no VM 'ghost'", closed.CloseStatusDescription);
    }

    [Fact]
    public async Task No_token_is_401_a_foreign_origin_403_and_a_bad_id_400_before_any_upgrade()
    {
        async Task<HttpStatusCode> Refused(ClientWebSocket socket, string id)
        {
            await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(ConsoleUri(id), CancellationToken.None));
            return socket.HttpStatusCode;
        }

        using (var anonymous = Socket(null))
            Assert.Equal(HttpStatusCode.Unauthorized, await Refused(anonymous, "web-1"));
        using (var foreign = Socket(_api.AdminToken))
        {
            foreign.Options.SetRequestHeader("Origin", "https://evil.example");
            Assert.Equal(HttpStatusCode.Forbidden, await Refused(foreign, "web-1"));
        }
        using (var badId = Socket(_api.AdminToken))
            Assert.Equal(HttpStatusCode.BadRequest, await Refused(badId, "Not_An-Id"));
        Assert.Empty(_api.Received);
    }

    [Fact]
    public async Task A_browser_may_send_its_token_as_a_subprotocol_and_the_answer_names_only_cluster_console()
    {
        var token = await _api.NewToken(Role.Operator, "browser");
        using var socket = Socket(null);
        socket.Options.AddSubProtocol("cluster-console");
        socket.Options.AddSubProtocol($"bearer.{token}");
        socket.Options.SetRequestHeader("Origin", Origin);
        await socket.ConnectAsync(ConsoleUri("web-1"), CancellationToken.None);
        Assert.Equal("cluster-console", socket.SubProtocol);
        Assert.DoesNotContain(socket.HttpResponseHeaders!.SelectMany(h => h.Value), v => v.Contains(token, StringComparison.Ordinal));
        Assert.Equal("count 1\n", await ReceiveText(socket));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
    }

    [Fact]
    public async Task The_subprotocol_token_counts_on_the_console_route_alone()
    {
        var token = await _api.NewToken(Role.Operator, "browser");
        using var client = _api.Client(null);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/vms");
        request.Headers.Add("Sec-WebSocket-Protocol", $"cluster-console, bearer.{token}");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(_api.Received);
    }
}
