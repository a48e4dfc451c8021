using System.Net;
using System.Net.Http.Headers;
using Akka.Actor;
using Cluster.Contracts.Access;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using Cluster.Node.Http;
using Cluster.Node.Tests.TestUtils;
using Cluster.Serialization;
using Cluster.Vmctl.Client;

namespace Cluster.Node.Tests.Http;

/// <summary>
/// POST /api/v1/command over HTTPS with vmctl's <see cref="HttpsControlClient"/>, in front of a real access gate and a
/// stand-in control plane: contracts go through the gate with the request's token, replies come back as contracts.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CommandEndpointTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-command", Guid.NewGuid().ToString("N"));
    private GatedApi _api = null!;

    private string CertificateFile => Path.Combine(_data, HttpCertificate.CertificateFile);

    private Uri Server => new(_api.Api.Urls[0]);

    public async Task InitializeAsync()
    {
        var certificate = HttpCertificate.EnsureSelfSigned(_data, IPAddress.Loopback, out _);
        _api = await GatedApi.StartAsync(m => m switch
        {
            ListVms => new VmList([]),
            DeleteVm d => new VmCommandAccepted(d.VmId, VmStatus.Deleted),
            StopVm => new Status.Failure(new InvalidOperationException("the journal is unavailable")),
            _ => new NotAllowed("?", $"unexpected {m.GetType().Name}"),
        }, certificate);
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    private HttpsControlClient Client(string token) =>
        new(Server, token, TimeSpan.FromSeconds(10), HttpsControlClient.LoadTrusted(CertificateFile));

    [Fact]
    public async Task A_contract_goes_through_the_gate_with_the_token_and_its_reply_comes_back_as_a_contract()
    {
        using var client = Client(_api.AdminToken);
        var reply = await client.AskAsync(ListVms.Instance);
        Assert.Equal(new VmList([]).Vms.Count, Assert.IsType<VmList>(reply).Vms.Count);
        Assert.Equal(VmStatus.Deleted, Assert.IsType<VmCommandAccepted>(await client.AskAsync(new DeleteVm("web-1"))).Status);
        Assert.Equal(["ListVms", "DeleteVm"], _api.Received.Select(m => m.GetType().Name));
        Assert.Equal("web-1", Assert.IsType<DeleteVm>(_api.Received.Last()).VmId);
    }

    [Fact]
    public async Task A_viewer_token_cannot_delete_and_a_wrong_token_is_unauthenticated_and_neither_reaches_the_cluster()
    {
        var viewer = await _api.NewToken(Role.Viewer, "reader");
        using (var client = Client(viewer))
        {
            Assert.IsType<VmList>(await client.AskAsync(ListVms.Instance));
            Assert.Equal(Denial.Forbidden, Assert.IsType<AccessDenied>(await client.AskAsync(new DeleteVm("web-1"))).Reason);
        }
        using (var stranger = Client(TokenText.New(out _)))
            Assert.Equal(Denial.Unauthenticated, Assert.IsType<AccessDenied>(await stranger.AskAsync(ListVms.Instance)).Reason);
        Assert.Equal(["ListVms"], _api.Received.Select(m => m.GetType().Name));
    }

    [Fact]
    public async Task A_failure_the_cluster_answers_comes_back_as_a_failure_with_its_message()
    {
        using var client = Client(_api.AdminToken);
        var failure = Assert.IsType<ClusterFailure>(await client.AskAsync(new StopVm("web-1", StopMode.Graceful)));
        Assert.Equal("the journal is unavailable", failure.Message);
    }

    [Fact]
    public async Task Bytes_that_are_no_contract_an_unknown_type_and_a_json_body_are_refused_at_the_edge()
    {
        using var http = PinnedHttps.Client(CertificateFile, Server);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _api.AdminToken);

        async Task<HttpStatusCode> Post(string? manifest, byte[] body, string contentType)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, CommandEndpoint.Path) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
            if (manifest is not null)
                request.Headers.Add(CommandEndpoint.ContractHeader, manifest);
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }

        var (manifest, payload) = BearerCommands.Encode(new DeleteVm("web-1"));
        Assert.Equal(HttpStatusCode.BadRequest, await Post(manifest, [0xc1, 0x00], CommandEndpoint.ContentType));
        Assert.Equal(HttpStatusCode.BadRequest, await Post(manifest, [.. payload, 0x00], CommandEndpoint.ContentType));
        Assert.Equal(HttpStatusCode.BadRequest, await Post("System.Diagnostics.Process", payload, CommandEndpoint.ContentType));
        Assert.Equal(HttpStatusCode.BadRequest, await Post(null, payload, CommandEndpoint.ContentType));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, await Post(manifest, payload, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, await Post(manifest, new byte[MessagePackContractSerializer.DefaultMaxPayloadBytes + 1], CommandEndpoint.ContentType));
        Assert.Empty(_api.Received);
        Assert.Equal(HttpStatusCode.OK, await Post(manifest, payload, CommandEndpoint.ContentType));
        Assert.Single(_api.Received);
    }

    [Fact]
    public async Task A_client_that_does_not_trust_the_nodes_certificate_sends_nothing_and_says_why()
    {
        var other = Path.Combine(_data, "other");
        HttpCertificate.EnsureSelfSigned(other, IPAddress.Loopback, out _).Dispose();
        using var client = new HttpsControlClient(Server, _api.AdminToken, TimeSpan.FromSeconds(10),
            HttpsControlClient.LoadTrusted(Path.Combine(other, HttpCertificate.CertificateFile)));
        var e = await Assert.ThrowsAsync<NodeUnreachableException>(() => client.AskAsync(ListVms.Instance));
        Assert.Contains("certificate", e.Message);
        Assert.Empty(_api.Received);
    }
}
