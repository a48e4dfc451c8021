using System.Net;
using System.Net.Http.Headers;
using Akka.Actor;
using Akka.Configuration;
using Cluster.Actors.Access;
using Cluster.Contracts.Access;
using Cluster.Node.Http;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Http;

/// <summary>The HTTP API over TLS with the self-signed certificate a node makes in its data directory.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HttpsTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-https", Guid.NewGuid().ToString("N"));
    private ActorSystem _system = null!;
    private HttpApi _api = null!;
    private string _admin = "";

    public async Task InitializeAsync()
    {
        _system = ActorSystem.Create("https-tests", ConfigurationFactory.ParseString("akka.loglevel = OFF\nakka.stdout-loglevel = OFF"));
        _admin = TokenText.New(out var id);
        var issued = new TokenIssued(new TokenInfo(id, "test-admin", Role.Admin, DateTime.UtcNow, null, null), TokenText.Hash(_admin));
        var control = _system.ActorOf(Props.Empty);
        var gate = AccessComposition.Start(_system, control, cluster: false, "test-node:1", [issued], TimeSpan.FromSeconds(1));
        var certificate = HttpCertificate.EnsureSelfSigned(_data, IPAddress.Parse("127.0.0.42"), out var created);
        Assert.True(created);
        _api = await HttpApi.StartAsync("127.0.0.42:0", _system, gate, certificate);
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _system.Terminate();
        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task A_client_that_pins_the_nodes_certificate_gets_answers_and_one_that_does_not_trust_it_is_refused()
    {
        var url = new Uri(_api.Urls[0]);
        Assert.Equal("https", url.Scheme);
        using var pinned = PinnedHttps.Client(Path.Combine(_data, HttpCertificate.CertificateFile), url);
        Assert.Equal(HttpStatusCode.Unauthorized, (await pinned.GetAsync("/api/tokens")).StatusCode);
        pinned.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _admin);
        Assert.Equal(HttpStatusCode.OK, (await pinned.GetAsync("/api/tokens")).StatusCode);

        using var untrusting = new HttpClient { BaseAddress = url };
        await Assert.ThrowsAsync<HttpRequestException>(() => untrusting.GetAsync("/api/tokens"));
        using var plain = new HttpClient { BaseAddress = new UriBuilder(url) { Scheme = "http" }.Uri };
        await Assert.ThrowsAnyAsync<Exception>(async () => (await plain.GetAsync("/api/tokens")).EnsureSuccessStatusCode());
    }

    [Fact]
    public void The_key_is_private_to_the_nodes_user_and_a_second_start_keeps_the_certificate()
    {
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_data, HttpCertificate.KeyFile)));
        var first = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_data, HttpCertificate.CertificateFile));
        using var again = HttpCertificate.EnsureSelfSigned(_data, IPAddress.Parse("127.0.0.42"), out var created);
        Assert.False(created);
        Assert.Equal(first.Thumbprint, again.Thumbprint);
    }
}
