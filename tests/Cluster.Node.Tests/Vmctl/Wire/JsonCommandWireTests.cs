using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Cluster.Contracts.Access;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Json;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using Cluster.Node.Http;
using Cluster.Node.Tests.TestUtils;
using Cluster.Serialization;
using Cluster.Vmctl.Client;

namespace Cluster.Node.Tests.Vmctl.Wire;

/// <summary>
/// POST /api/v1/command with JSON bodies (vmctl's wire since the NativeAOT build): JSON in, JSON out, through the same
/// access gate; MessagePack and JSON negotiated by Content-Type and Accept; vmctl's client over the JSON wire.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class JsonCommandWireTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-json-wire", Guid.NewGuid().ToString("N"));
    private GatedApi _api = null!;
    private static readonly DateTime At = new(2026, 12, 7, 1, 2, 3, DateTimeKind.Utc);

    private string CertificateFile => Path.Combine(_data, HttpCertificate.CertificateFile);

    private Uri Server => new(_api.Api.Urls[0]);

    public async Task InitializeAsync()
    {
        var certificate = HttpCertificate.EnsureSelfSigned(_data, IPAddress.Loopback, out _);
        _api = await GatedApi.StartAsync(m => m switch
        {
            ListVms => new VmList([new VmInfo(new VmSpec("web-1", "web", 2, 64 << 20, new BuiltInImage("hello"), ["a"],
                new Dictionary<string, string> { ["zone"] = "a" }, null, new RestartPolicy(RestartMode.Always, 3)), VmStatus.Running, 1, At, "started", "h:1")]),
            GetVmEvents g => new VmEventList(g.VmId, [new VmRestarted(g.VmId, At, "policy", 2)]),
            DeleteVm d => new VmCommandAccepted(d.VmId, VmStatus.Deleted),
            _ => new NotAllowed("?", $"unexpected {m.GetType().Name}"),
        }, certificate);
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    private async Task<(HttpStatusCode Status, string? ContentType, string? Contract, byte[] Body)> Post(
        string manifest, byte[] body, string contentType, string? accept = null, string? token = null)
    {
        using var http = PinnedHttps.Client(CertificateFile, Server);
        using var request = new HttpRequestMessage(HttpMethod.Post, CommandEndpoint.Path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token ?? _api.AdminToken);
        request.Headers.Add(CommandEndpoint.ContractHeader, manifest);
        if (accept is not null)
            request.Headers.Accept.ParseAdd(accept);
        using var response = await http.SendAsync(request);
        var contract = response.Headers.TryGetValues(CommandEndpoint.ContractHeader, out var values) ? values.First() : null;
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, contract, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_json_command_is_answered_in_json_and_reaches_the_cluster_as_the_same_contract()
    {
        var (manifest, json) = ContractJson.Encode(new DeleteVm("web-1"));
        var (status, type, contract, body) = await Post(manifest, json, "application/json; charset=utf-8");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("application/json", type);
        Assert.Equal(typeof(VmCommandAccepted).FullName, contract);
        Assert.Equal("{\"vmId\":\"web-1\",\"status\":\"Deleted\"}", Encoding.UTF8.GetString(body));
        Assert.Equal("web-1", Assert.IsType<DeleteVm>(Assert.Single(_api.Received)).VmId);
    }

    [Fact]
    public async Task Accept_chooses_the_replys_form_whatever_the_requests()
    {
        var (manifest, pack) = BearerCommands.Encode(ListVms.Instance);
        var asJson = await Post(manifest, pack, CommandEndpoint.ContentType, accept: "application/json");
        Assert.Equal((HttpStatusCode.OK, "application/json"), (asJson.Status, asJson.ContentType));
        var list = Assert.IsType<VmList>(ContractJson.Decode(asJson.Contract, asJson.Body, out _));
        Assert.Equal(("web-1", VmStatus.Running, At), (list.Vms[0].VmId, list.Vms[0].Status, list.Vms[0].Since));
        Assert.Equal("builtin:hello", list.Vms[0].Spec.Image.Describe());

        var (jsonManifest, json) = ContractJson.Encode(ListVms.Instance);
        var asPack = await Post(jsonManifest, json, "application/json", accept: "application/msgpack, application/json;q=0.5");
        Assert.Equal((HttpStatusCode.OK, CommandEndpoint.ContentType), (asPack.Status, asPack.ContentType));
        Assert.IsType<VmList>(BearerCommands.Decode(asPack.Contract, asPack.Body, out _));

        var plain = await Post(manifest, pack, CommandEndpoint.ContentType);
        Assert.Equal(CommandEndpoint.ContentType, plain.ContentType);
    }

    [Fact]
    public async Task Malformed_json_an_unknown_type_and_a_bad_token_are_refused_before_the_cluster()
    {
        var manifest = typeof(DeleteVm).FullName!;
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(manifest, "{\"vmId\":"u8.ToArray(), "application/json")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(manifest, "[1]"u8.ToArray(), "application/json")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post("System.IO.File", "{}"u8.ToArray(), "application/json")).Status);
        var denied = await Post(manifest, ContractJson.Encode(new DeleteVm("web-1")).Payload, "application/json", token: TokenText.New(out _));
        Assert.Equal(Denial.Unauthenticated, Assert.IsType<AccessDenied>(ContractJson.Decode(denied.Contract, denied.Body, out _)).Reason);
        Assert.Empty(_api.Received);
    }

    [Fact]
    public async Task Vmctls_client_speaks_json_and_reads_unions_back()
    {
        using var client = new HttpsControlClient(Server, _api.AdminToken, TimeSpan.FromSeconds(10), HttpsControlClient.LoadTrusted(CertificateFile));
        var events = Assert.IsType<VmEventList>(await client.AskAsync(new GetVmEvents("web-1")));
        var restarted = Assert.IsType<VmRestarted>(Assert.Single(events.Events));
        Assert.Equal(2, restarted.Attempt);
        Assert.IsType<VmList>(await client.AskAsync(ListVms.Instance));
        Assert.Equal(2, _api.Received.Count);
        using var document = JsonDocument.Parse(ContractJson.Encode(events).Payload);
        Assert.Equal("VmRestarted", document.RootElement.GetProperty("events")[0].GetProperty("$type").GetString());
    }
}
