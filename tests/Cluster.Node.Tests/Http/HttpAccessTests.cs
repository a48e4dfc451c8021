using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Akka.Actor;
using Cluster.Contracts.Access;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;
using Cluster.Node.Tests.TestUtils;
using Cluster.Serialization;

namespace Cluster.Node.Tests.Http;

/// <summary>
/// Authentication, authorisation and request hardening of the HTTP API against the real access gate, token registry
/// and audit log: what reaches the control plane is what the stand-in behind the gate received.
/// </summary>
public sealed class HttpAccessTests : IAsyncLifetime
{
    private GatedApi _api = null!;

    public async Task InitializeAsync() => _api = await GatedApi.StartAsync(HttpApiTests.Answer);

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task A_client_without_a_token_or_with_a_bad_one_gets_401_and_nothing_is_sent()
    {
        using var anonymous = _api.Client(null);
        var (none, body) = await GatedApi.Call(anonymous, HttpMethod.Get, "/api/vms");
        Assert.Equal((HttpStatusCode.Unauthorized, "unauthenticated"), (none, body.GetProperty("error").GetString()));
        using var forged = _api.Client(TokenText.New(out _));
        Assert.Equal(HttpStatusCode.Unauthorized, (await GatedApi.Call(forged, HttpMethod.Delete, "/api/vms/a")).Status);
        using var garbage = _api.Client("letmein");
        Assert.Equal(HttpStatusCode.Unauthorized, (await GatedApi.Call(garbage, HttpMethod.Get, "/api/hosts")).Status);
        Assert.Empty(_api.Received);
    }

    [Fact]
    public async Task A_viewer_reads_but_cannot_delete_or_drain_and_an_operator_cannot_drain()
    {
        using var viewer = _api.Client(await _api.NewToken(Role.Viewer, "watcher"));
        Assert.Equal(HttpStatusCode.OK, (await GatedApi.Call(viewer, HttpMethod.Get, "/api/vms")).Status);
        var (delete, body) = await GatedApi.Call(viewer, HttpMethod.Delete, "/api/vms/a");
        Assert.Equal((HttpStatusCode.Forbidden, "forbidden"), (delete, body.GetProperty("error").GetString()));
        Assert.Contains("needs operator", body.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, (await GatedApi.Call(viewer, HttpMethod.Post, "/api/hosts/h1:1/drain")).Status);
        using var op = _api.Client(await _api.NewToken(Role.Operator, "ops"));
        Assert.Equal(HttpStatusCode.Forbidden, (await GatedApi.Call(op, HttpMethod.Post, "/api/hosts/h1:1/drain")).Status);
        Assert.Equal(HttpStatusCode.OK, (await GatedApi.Call(op, HttpMethod.Delete, "/api/vms/a")).Status);
        Assert.Equal([typeof(ListVms), typeof(DeleteVm)], _api.Received.Select(m => m.GetType()));
    }

    [Fact]
    public async Task A_revoked_or_expired_token_gets_401()
    {
        var token = await _api.NewToken(Role.Operator, "short-lived");
        using var client = _api.Client(token);
        Assert.Equal(HttpStatusCode.OK, (await GatedApi.Call(client, HttpMethod.Post, "/api/vms/a/kill")).Status);
        var id = TokenText.IdOf(token)!;
        Assert.Equal(HttpStatusCode.OK, (await GatedApi.Call(_api.Http, HttpMethod.Delete, $"/api/tokens/{id}")).Status);
        var (revoked, body) = await GatedApi.Call(client, HttpMethod.Post, "/api/vms/a/kill");
        Assert.Equal(HttpStatusCode.Unauthorized, revoked);
        Assert.Contains("revoked", body.GetProperty("message").GetString());

        var old = TokenText.New(out var oldId);
        var info = new TokenInfo(oldId, "old", Role.Admin, DateTime.UtcNow.AddDays(-2), DateTime.UtcNow.AddDays(-1), null);
        Assert.IsType<TokenImported>(await _api.Gate.Ask<object>(BearerCommands.Wrap(_api.AdminToken, new ImportToken(info, TokenText.Hash(old))),
            TimeSpan.FromSeconds(10)));
        using var expired = _api.Client(old);
        var (status, why) = await GatedApi.Call(expired, HttpMethod.Get, "/api/vms");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("expired", why.GetProperty("message").GetString());
        Assert.Equal(new StopVm("a", StopMode.Forced), Assert.Single(_api.Received));
    }

    [Fact]
    public async Task A_cross_origin_form_post_does_nothing()
    {
        using var browser = _api.Client(null);
        foreach (var path in new[] { "/api/vms/a/kill", "/api/hosts/h1:1/leave", "/api/vms" })
        {
            using var form = new HttpRequestMessage(HttpMethod.Post, path)
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["id"] = "evil", ["image"] = "counter" }),
            };
            form.Headers.Add("Origin", "http://evil.example");
            using var response = await browser.SendAsync(form);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
        using var withToken = new HttpRequestMessage(HttpMethod.Post, "/api/vms/a/kill")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["x"] = "1" }),
        };
        withToken.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _api.AdminToken);
        using var formWithToken = await browser.SendAsync(withToken);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, formWithToken.StatusCode);
        Assert.Empty(_api.Received);
    }

    [Fact]
    public async Task An_origin_or_host_that_is_not_the_apis_own_is_refused_and_its_own_is_accepted()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/vms");
        request.Headers.Host = "rebound.example:80";
        using var rebound = await _api.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, rebound.StatusCode);
        using var sameOrigin = new HttpRequestMessage(HttpMethod.Get, "/api/vms");
        sameOrigin.Headers.Add("Origin", _api.Api.Urls[0]);
        using var accepted = await _api.Http.SendAsync(sameOrigin);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(typeof(ListVms), Assert.Single(_api.Received).GetType());
    }

    [Theory]
    [InlineData("GET", "/api/vms/Not_A_Vm")]
    [InlineData("GET", "/api/vms/-x/events")]
    [InlineData("POST", "/api/vms/..%2Fshard/start")]
    [InlineData("DELETE", "/api/vms/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("POST", "/api/hosts/not%20a%20host/drain")]
    [InlineData("POST", "/api/hosts/h1:99999/leave")]
    public async Task An_invalid_vm_id_or_host_name_is_400_and_reaches_no_shard(string method, string path)
    {
        var (status, body) = await GatedApi.Call(_api.Http, new HttpMethod(method), path);
        Assert.Equal((HttpStatusCode.BadRequest, "invalid"), (status, body.GetProperty("error").GetString()));
        Assert.Empty(_api.Received);
    }

    [Fact]
    public async Task A_write_without_json_content_type_is_415()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/vms")
        {
            Content = new StringContent("""{"id":"n","image":"counter"}""", Encoding.UTF8, "text/plain"),
        };
        using var response = await _api.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Empty(_api.Received);
    }

    [Fact]
    public async Task The_audit_lists_who_did_what_and_leaves_out_reads()
    {
        using var op = _api.Client(await _api.NewToken(Role.Operator, "alice"));
        Assert.Equal(HttpStatusCode.OK, (await GatedApi.Call(op, HttpMethod.Post, "/api/vms/web-1/start")).Status);
        Assert.Equal(HttpStatusCode.OK, (await GatedApi.Call(op, HttpMethod.Get, "/api/vms")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await GatedApi.Call(op, HttpMethod.Get, "/api/audit")).Status);
        var (status, audit) = await GatedApi.Call(_api.Http, HttpMethod.Get, "/api/audit?limit=10");
        Assert.Equal(HttpStatusCode.OK, status);
        var records = audit.GetProperty("records").EnumerateArray()
            .Select(r => (r.GetProperty("tokenName").GetString(), r.GetProperty("role").GetString(), r.GetProperty("command").GetString(),
                r.GetProperty("target").GetString()))
            .ToList();
        Assert.Equal([("test-admin", "Admin", "CreateToken", "operator 'alice'"), ("alice", "Operator", "StartVm", "web-1")], records);
    }

    [Fact]
    public async Task The_dashboard_page_needs_no_token_and_asks_for_one()
    {
        using var anonymous = _api.Client(null);
        using var response = await anonymous.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var script = await anonymous.GetStringAsync("/ui/js/api.js");
        Assert.Contains("sessionStorage", script);
        Assert.Contains("Authorization", script);
    }
}
