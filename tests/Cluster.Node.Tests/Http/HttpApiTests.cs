using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Http;

/// <summary>
/// The HTTP API, with an admin token, in front of the access gate and a stand-in control actor that records each
/// message and answers from <see cref="Answer"/>: request JSON to contract messages, replies to status codes.
/// </summary>
public sealed class HttpApiTests : IAsyncLifetime
{
    private GatedApi _gated = null!;

    private ConcurrentQueue<object> Received => _gated.Received;

    private HttpClient Http => _gated.Http;

    public async Task InitializeAsync() => _gated = await GatedApi.StartAsync(Answer);

    public async Task DisposeAsync() => await _gated.DisposeAsync();

    /// <summary>The stand-in's answers: a VM named "missing" or host "missing:1" is unknown, "busy" is refused.</summary>
    internal static object Answer(object message) => message switch
    {
        MigrateVm { VmId: "missing" } m => new VmNotFound(m.VmId),
        MigrateVm { VmId: "busy" } m => new NotAllowed(m.VmId, "already migrating"),
        MigrateVm m => new MigrationAccepted(m.VmId, "m-1", "h1:1", m.TargetHost),
        CancelMigration c => c.VmId == "busy" ? new NotAllowed(c.VmId, "no migration to cancel") : new MigrationCancelling(c.VmId, "m-1"),
        ListMigrations => new MigrationList([new MigrationInfo("a", "m-1", "h1:1", "h2:1", MigrationState.PreCopy, MigrationStrategy.Auto, 1,
            1UL << 30, 1L << 29, 1e8, 1e6, 2000, 0, DateTime.UtcNow, null, null, null, 1L << 29, null, MigrationCause.ByOperator)]),
        DrainHost { Host: "missing:1" } d => new HostNotFound(d.Host, ["h1:1"]),
        DrainHost d => new DrainStarted(d.Host, ["a", "b"]),
        UndrainHost u => new HostUndrained(u.Host),
        SetRebalanceMode s => new RebalanceStatus(s.Mode, 0.1, 0.2, null, [], [], [], 0),
        GetRebalanceStatus => new RebalanceStatus(RebalanceMode.Recommend, 0.3, 0.2, null,
            [new RebalanceHost("h1:1", 0.8, true, new Dictionary<string, string>())], [], [], 2),
        ListVms => new VmList([]),
        DeleteVm d => new VmCommandAccepted(d.VmId, Contracts.Vms.VmStatus.Defined),
        StopVm s => new VmCommandAccepted(s.VmId, Contracts.Vms.VmStatus.Stopped),
        CreateVm c => new VmCreated(c.Spec.Id, Contracts.Vms.VmStatus.Defined, "h1:1"),
        StartVm st => new VmCommandAccepted(st.VmId, Contracts.Vms.VmStatus.Running),
        GetVmEvents g => new VmEventList(g.VmId, [new VmMigrationStarted(g.VmId, DateTime.UtcNow, "rebalance", "m-1", "h1:1", "h2:1",
            new MigrationCause(MigrationTrigger.Rebalance, "h1 busiest", new Dictionary<string, string> { ["load.h1"] = "0.9" }), MigrationLimits.Default)]),
        _ => new Status.Failure(new InvalidOperationException($"unexpected {message.GetType().Name}")),
    };

    private Task<(HttpStatusCode Status, JsonElement Body)> Call(HttpMethod method, string path, string? json = null) =>
        GatedApi.Call(Http, method, path, json);

    [Fact]
    public async Task Turns_a_migrate_request_into_a_migrate_message_and_answers_202()
    {
        var (status, body) = await Call(HttpMethod.Post, "/api/vms/a/migrate", """{"to":"h2:1","bandwidth":"1G","mode":"postcopy"}""");
        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal("m-1", body.GetProperty("migrationId").GetString());
        var sent = Assert.Single(Received.OfType<MigrateVm>());
        Assert.Equal(("a", "h2:1", 1L << 30, MigrationStrategy.PostCopy),
            (sent.VmId, sent.TargetHost, sent.Limits.BandwidthBytesPerSecond, sent.Limits.Strategy));
    }

    [Theory]
    [InlineData("missing", """{"to":"h2:1"}""", HttpStatusCode.NotFound, "not-found")]
    [InlineData("busy", """{"to":"h2:1"}""", HttpStatusCode.Conflict, "not-allowed")]
    [InlineData("a", """{"to":"h2:1","mode":"warp"}""", HttpStatusCode.BadRequest, "bad-request")]
    [InlineData("a", """{"to":""", HttpStatusCode.BadRequest, "bad-json")]
    public async Task Answers_a_refused_or_bad_migration_with_its_status_code(string vm, string json, HttpStatusCode expected, string error)
    {
        var (status, body) = await Call(HttpMethod.Post, $"/api/vms/{vm}/migrate", json);
        Assert.Equal(expected, status);
        Assert.Equal(error, body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Cancels_a_migration_with_delete()
    {
        Assert.Equal(HttpStatusCode.Accepted, (await Call(HttpMethod.Delete, "/api/vms/a/migration")).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await Call(HttpMethod.Delete, "/api/vms/busy/migration")).Status);
        Assert.Equal(["a", "busy"], Received.OfType<CancelMigration>().Select(c => c.VmId));
    }

    [Fact]
    public async Task Lists_migrations_with_state_names_and_figures()
    {
        var (status, body) = await Call(HttpMethod.Get, "/api/migrations");
        Assert.Equal(HttpStatusCode.OK, status);
        var m = body.GetProperty("migrations")[0];
        Assert.Equal(("PreCopy", 1L << 29, "Operator"),
            (m.GetProperty("state").GetString(), m.GetProperty("remainingBytes").GetInt64(), m.GetProperty("cause").GetProperty("trigger").GetString()));
    }

    [Fact]
    public async Task Drains_and_undrains_a_host_and_answers_404_for_an_unknown_one()
    {
        var (status, body) = await Call(HttpMethod.Post, "/api/hosts/h1:1/drain");
        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal(2, body.GetProperty("vms").GetArrayLength());
        Assert.Equal(HttpStatusCode.OK, (await Call(HttpMethod.Post, "/api/hosts/h1:1/undrain")).Status);
        var (missing, error) = await Call(HttpMethod.Post, "/api/hosts/missing:1/drain");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("h1:1", error.GetProperty("known")[0].GetString());
        Assert.Equal([new DrainHost("h1:1"), new DrainHost("missing:1")], Received.OfType<DrainHost>());
        Assert.Equal(new UndrainHost("h1:1"), Assert.Single(Received.OfType<UndrainHost>()));
    }

    [Fact]
    public async Task Reads_and_sets_the_rebalancer_mode()
    {
        var (status, body) = await Call(HttpMethod.Get, "/api/rebalance");
        Assert.Equal((HttpStatusCode.OK, "Recommend", true),
            (status, body.GetProperty("mode").GetString(), body.GetProperty("hosts")[0].GetProperty("draining").GetBoolean()));
        Assert.Equal(JsonValueKind.Number, body.GetProperty("fewestMoves").ValueKind); // the demo's yardstick, read by scripts/demo
        var (set, after) = await Call(HttpMethod.Put, "/api/rebalance", """{"mode":"automatic"}""");
        Assert.Equal((HttpStatusCode.OK, "Automatic"), (set, after.GetProperty("mode").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, (await Call(HttpMethod.Put, "/api/rebalance", """{"mode":"fast"}""")).Status);
        Assert.Equal(new SetRebalanceMode(RebalanceMode.Automatic), Assert.Single(Received.OfType<SetRebalanceMode>()));
    }

    [Fact]
    public async Task Still_creates_and_starts_a_vm_from_a_spec_and_refuses_bad_json()
    {
        var (created, body) = await Call(HttpMethod.Post, "/api/vms", """{"id":"n","image":"counter","start":true}""");
        Assert.Equal((HttpStatusCode.OK, "Running"), (created, body.GetProperty("status").GetString()));
        Assert.Equal("n", Assert.Single(Received.OfType<CreateVm>()).Spec.Id);
        Assert.Equal(new StartVm("n"), Assert.Single(Received.OfType<StartVm>()));
        var (bad, error) = await Call(HttpMethod.Post, "/api/vms", "{");
        Assert.Equal((HttpStatusCode.BadRequest, "bad-json"), (bad, error.GetProperty("error").GetString()));
    }

    [Theory]
    [InlineData("/api/v1/vms")]
    [InlineData("/api/vms")]
    public async Task Refuses_unknown_and_mistyped_fields_by_name_on_both_prefixes(string path)
    {
        var (unknown, body) = await Call(HttpMethod.Post, path, """{"id":"n","image":"counter","colour":"red"}""");
        Assert.Equal((HttpStatusCode.BadRequest, "bad-spec"), (unknown, body.GetProperty("error").GetString()));
        Assert.StartsWith("unknown field 'colour'", body.GetProperty("message").GetString());
        var (mistyped, why) = await Call(HttpMethod.Post, $"{path}/n/migrate", """{"to":"h2:1","connections":"2"}""");
        Assert.Equal((HttpStatusCode.BadRequest, "'connections' must be an integer"), (mistyped, why.GetProperty("message").GetString()));
        Assert.Empty(Received.OfType<CreateVm>());
        Assert.Empty(Received.OfType<MigrateVm>());
    }

    [Fact]
    public async Task Gives_migration_events_with_their_cause_and_figures()
    {
        var (status, body) = await Call(HttpMethod.Get, "/api/vms/a/events");
        var migration = body[0].GetProperty("migration");
        Assert.Equal((HttpStatusCode.OK, "VmMigrationStarted"), (status, body[0].GetProperty("event").GetString()));
        Assert.Equal(("Rebalance", "0.9", 300),
            (migration.GetProperty("cause").GetProperty("trigger").GetString(), migration.GetProperty("cause").GetProperty("inputs").GetProperty("load.h1").GetString(),
             migration.GetProperty("limits").GetProperty("downtimeMs").GetInt32()));
    }

    [Fact]
    public async Task Serves_a_self_contained_dashboard_that_polls_the_api()
    {
        using var response = await Http.GetAsync("/");
        var html = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/html", response.Content.Headers.ContentType!.ToString());
        Assert.Contains("src=\"/ui/js/dashboard.js\"", html);
        Assert.DoesNotMatch("(src|href)=\"https?:", html);
        var script = await Http.GetStringAsync("/ui/js/dashboard.js");
        Assert.Contains("${API}/migrations", script);
        Assert.Contains("every(1000, refresh)", script);
    }
}
