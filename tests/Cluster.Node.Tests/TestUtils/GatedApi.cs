using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Cluster.Actors.Access;
using Cluster.Contracts.Access;
using Cluster.Node.Http;
using Cluster.Serialization;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>
/// The HTTP API in front of a real access gate, token registry and audit log (a standalone node's, on the in-memory
/// journal) in front of a stand-in control actor that records each command it gets and answers with
/// <c>answer</c>: what reaches the control plane is exactly what the stand-in received.
/// </summary>
internal sealed class GatedApi : IAsyncDisposable
{
    private GatedApi(ActorSystem system, HttpApi api, IActorRef gate, string adminToken, ConcurrentQueue<object> received)
    {
        System = system;
        Api = api;
        Gate = gate;
        AdminToken = adminToken;
        Received = received;
        Http = Client(adminToken);
    }

    public ActorSystem System { get; }

    public HttpApi Api { get; }

    public IActorRef Gate { get; }

    /// <summary>A token of the admin role (the node's bootstrap token in a real node).</summary>
    public string AdminToken { get; }

    /// <summary>Every command that got through the gate to the control plane.</summary>
    public ConcurrentQueue<object> Received { get; }

    /// <summary>A client that sends the admin token.</summary>
    public HttpClient Http { get; }

    /// <summary>The API over plain HTTP, or HTTPS with <paramref name="certificate"/>.</summary>
    public static async Task<GatedApi> StartAsync(Func<object, object> answer, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null,
        MetricsEndpoint.Readiness? readiness = null)
    {
        var system = ActorSystem.Create("http-tests", ConfigurationFactory.ParseString("akka.loglevel = OFF\nakka.stdout-loglevel = OFF"));
        var received = new ConcurrentQueue<object>();
        var control = system.ActorOf(Props.Create(() => new StandIn(received, answer)));
        var admin = TokenText.New(out var id);
        var issued = new TokenIssued(new TokenInfo(id, "test-admin", Role.Admin, DateTime.UtcNow, null, null), TokenText.Hash(admin));
        var gate = AccessComposition.Start(system, control, cluster: false, "test-node:1", [issued], TimeSpan.FromMilliseconds(200));
        var api = await HttpApi.StartAsync("127.0.0.1:0", system, gate, certificate, readiness);
        return new GatedApi(system, api, gate, admin, received);
    }

    /// <summary>A client of the API that sends <paramref name="token"/> (none when null).</summary>
    public HttpClient Client(string? token)
    {
        var client = new HttpClient { BaseAddress = new Uri(Api.Urls[0]) };
        if (token is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>Sends a request (writes with a JSON body, empty when <paramref name="json"/> is null) and reads the JSON answer.</summary>
    public static async Task<(HttpStatusCode Status, JsonElement Body)> Call(HttpClient client, HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null || method != HttpMethod.Get)
            request.Content = new StringContent(json ?? "", Encoding.UTF8, "application/json");
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>A new token of <paramref name="role"/>, issued through the gate with the admin token (as vmctl token create does).</summary>
    public async Task<string> NewToken(Role role, string name)
    {
        var reply = await Gate.Ask<object>(BearerCommands.Wrap(AdminToken, new CreateToken(role, name, DateTime.UtcNow.AddHours(1))), TimeSpan.FromSeconds(10));
        return reply is TokenCreated created ? created.Token : throw new InvalidOperationException($"no token: {reply}");
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Api.DisposeAsync();
        await System.Terminate();
    }

    private sealed class StandIn : ReceiveActor
    {
        public StandIn(ConcurrentQueue<object> received, Func<object, object> answer) => ReceiveAny(m =>
        {
            received.Enqueue(m);
            Sender.Tell(answer(m));
        });
    }
}
