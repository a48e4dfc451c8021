using System.Net;
using System.Text.Json;
using Akka.Actor;
using Cluster.Contracts.Access;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using Cluster.Node.Http;
using Cluster.Node.Tests.TestUtils;
using Cluster.Serialization;

namespace Cluster.Node.Tests.Http;

/// <summary>
/// The listings page by page, under /api/v1 and the old /api paths alike: a stable order, a cursor that survives the
/// deletion of the item it names, the next page's request in the reply, and 400 for a limit out of bounds.
/// </summary>
public sealed class PagingTests : IAsyncLifetime
{
    private static readonly string[] Ids = ["e", "a", "d", "b", "c"];

    private GatedApi _gated = null!;

    public async Task InitializeAsync() => _gated = await GatedApi.StartAsync(message => message switch
    {
        ListVms => new VmList([.. Ids.Select(Vm)]),
        ListNetworks => new NetworkList([new NetworkInfo(new NetworkSpec("lan", NetworkMode.Nat), []), new NetworkInfo(new NetworkSpec("dmz", NetworkMode.Nat), [])]),
        _ => new ValidationFailed("message", $"unexpected {message.GetType().Name}"),
    });

    public async Task DisposeAsync() => await _gated.DisposeAsync();

    private static VmInfo Vm(string id) =>
        new(new VmSpec(id, id, 1, 1 << 20, new BuiltInImage("counter"), [], new Dictionary<string, string>(), null, new RestartPolicy(RestartMode.Never, 0)),
            VmStatus.Defined, 0, DateTime.UtcNow, "created", "h1:1");

    private Task<(HttpStatusCode Status, JsonElement Body)> Get(string path) => GatedApi.Call(_gated.Http, HttpMethod.Get, path);

    private static string[] IdsOf(JsonElement page) => [.. page.GetProperty("vms").EnumerateArray().Select(v => v.GetProperty("spec").GetProperty("id").GetString()!)];

    [Theory]
    [InlineData("/api/v1/vms")]
    [InlineData("/api/vms")]
    public async Task Pages_through_vms_in_id_order_following_next(string path)
    {
        var seen = new List<string>();
        var (status, page) = await Get($"{path}?limit=2");
        var pages = 1;
        while (true)
        {
            Assert.Equal(HttpStatusCode.OK, status);
            seen.AddRange(IdsOf(page));
            if (page.GetProperty("next").ValueKind == JsonValueKind.Null)
                break;
            Assert.StartsWith($"{path}?limit=2&after=", page.GetProperty("next").GetString());
            (status, page) = await Get(page.GetProperty("next").GetString()!);
            pages++;
        }
        Assert.Equal(["a", "b", "c", "d", "e"], seen);
        Assert.Equal(3, pages);
        Assert.Equal(JsonValueKind.Null, page.GetProperty("continue").ValueKind);
    }

    [Fact]
    public async Task Answers_everything_without_parameters_and_resumes_after_a_deleted_cursor()
    {
        var (_, all) = await Get("/api/vms");
        Assert.Equal(["a", "b", "c", "d", "e"], IdsOf(all));
        Assert.Equal(JsonValueKind.Null, all.GetProperty("next").ValueKind);
        var (_, after) = await Get("/api/v1/vms?after=bb&limit=2");
        Assert.Equal(["c", "d"], IdsOf(after));
        Assert.Equal("d", after.GetProperty("continue").GetString());
        var (_, networks) = await Get("/api/v1/networks?limit=1");
        Assert.Equal("dmz", networks.GetProperty("networks")[0].GetProperty("spec").GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("/api/v1/vms?limit=0")]
    [InlineData("/api/v1/vms?limit=1001")]
    [InlineData("/api/v1/migrations?limit=ten")]
    [InlineData("/api/audit?limit=501")]
    [InlineData("/api/v1/tokens?limit=-1")]
    public async Task Refuses_a_limit_out_of_bounds(string path)
    {
        var (status, body) = await Get(path);
        Assert.Equal((HttpStatusCode.BadRequest, "bad-request"), (status, body.GetProperty("error").GetString()));
        Assert.Contains("'limit' must be a whole number from 1 to", body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Pages_the_audit_log_backwards_from_the_newest_record()
    {
        for (var i = 0; i < 5; i++)
            await GatedApi.Call(_gated.Http, HttpMethod.Delete, $"/api/v1/vms/v{i}");
        var audited = await WaitForAudit(5);
        var (_, newest) = await Get("/api/v1/audit?limit=2");
        var records = newest.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("at").GetDateTime()).ToList();
        Assert.Equal(audited.TakeLast(2), records);
        var (_, older) = await Get(newest.GetProperty("next").GetString()!);
        Assert.Equal(audited.SkipLast(2).TakeLast(2), older.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("at").GetDateTime()));
    }

    /// <summary>Waits until the audit log (of writes: reads are not recorded) holds at least <paramref name="count"/> records; their times, oldest first.</summary>
    private async Task<List<DateTime>> WaitForAudit(int count)
    {
        for (var attempt = 0; ; attempt++)
        {
            var reply = await _gated.Gate.Ask<object>(BearerCommands.Wrap(_gated.AdminToken, new ListAudit(500)), TimeSpan.FromSeconds(5));
            var records = Assert.IsType<AuditList>(reply).Records;
            if (records.Count >= count || attempt == 50)
                return [.. records.Select(r => r.At).Order()];
            await Task.Delay(100);
        }
    }
}
