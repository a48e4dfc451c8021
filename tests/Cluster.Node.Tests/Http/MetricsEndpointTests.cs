using System.Net;
using System.Net.Http.Headers;
using Cluster.Contracts.Access;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using Cluster.Node.Http;
using Cluster.Node.Tests.TestUtils;
using Cluster.Node.Tests.Vmctl;

namespace Cluster.Node.Tests.Http;

/// <summary>GET /metrics (Prometheus text through the access gate), /healthz and /readyz, in front of a real gate and a
/// stand-in cluster that answers with one host carrying two VMs.</summary>
public sealed class MetricsEndpointTests : IAsyncLifetime
{
    private static readonly DateTime At = new(2026, 12, 6, 12, 0, 0, DateTimeKind.Utc);
    private GatedApi _api = null!;
    private volatile string[] _notReady = [];

    public async Task InitializeAsync() => _api = await GatedApi.StartAsync(m => m switch
    {
        ListHosts => new HostList(
        [
            new HostStatus("h1:1", 4, 1UL << 30, new Dictionary<string, string>(), "GenuineIntel", [],
                [new PlacedVm("web-1", 2, 64UL << 20, null, 0.75, 48UL << 20, new IoTotals(4096, 1 << 20, 1, 256, 1500, 600, 3, 2)), new PlacedVm("web-2", 1, 32UL << 20, null)],
                1, 0.75, 96UL << 20, At) { Io = new IoTotals(8192, 3 << 20, 2, 768, 1500, 600, 3, 2) },
        ]),
        ListVms => new VmList([new VmInfo(CannedClient.Spec("web-1"), VmStatus.Running, 0, At, "", "h1:1"), new VmInfo(CannedClient.Spec("web-2"), VmStatus.Stopped, 0, At, "", "h1:1")]),
        ListMigrations => new MigrationList([]),
        _ => new NotAllowed("?", $"unexpected {m.GetType().Name}"),
    }, readiness: () => _notReady);

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task A_scrape_with_a_viewer_token_has_the_clusters_figures_per_host_and_vm_in_prometheus_text()
    {
        var viewer = await _api.NewToken(Role.Viewer, "prometheus");
        using var client = _api.Client(viewer);
        using var response = await client.GetAsync(MetricsEndpoint.MetricsPath);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Matches("""(?m)^cluster_host_vcpus\{[^}]*host="h1:1"[^}]*\} 4( |$)""", text);
        Assert.Matches("""(?m)^cluster_host_memory_in_use_bytes\{[^}]*host="h1:1"[^}]*\} 100663296( |$)""", text);
        Assert.Matches("""(?m)^cluster_vm_cpu_load\{[^}]*vm="web-1"[^}]*\} 0\.75( |$)""", text);
        Assert.Matches("""(?m)^cluster_vms\S*\{[^}]*status="running"[^}]*\} 1( |$)""", text);
        // The I/O counters, per VM where its host reports them (web-2 does not run: none) and per host.
        Assert.Matches("""(?m)^# TYPE cluster_vm_disk_write_bytes_total counter$""", text);
        Assert.Matches("""(?m)^cluster_vm_disk_read_bytes_total\{[^}]*vm="web-1"[^}]*\} 4096( |$)""", text);
        Assert.Matches("""(?m)^cluster_vm_disk_write_bytes_total\{[^}]*vm="web-1"[^}]*\} 1048576( |$)""", text);
        Assert.Matches("""(?m)^cluster_vm_disk_read_ops_total\{[^}]*vm="web-1"[^}]*\} 1( |$)""", text);
        Assert.Matches("""(?m)^cluster_vm_disk_write_ops_total\{[^}]*vm="web-1"[^}]*\} 256( |$)""", text);
        Assert.Matches("""(?m)^cluster_vm_net_rx_bytes_total\{[^}]*vm="web-1"[^}]*\} 1500( |$)""", text);
        Assert.Matches("""(?m)^cluster_vm_net_tx_bytes_total\{[^}]*vm="web-1"[^}]*\} 600( |$)""", text);
        Assert.Matches("""(?m)^cluster_vm_net_rx_packets_total\{[^}]*vm="web-1"[^}]*\} 3( |$)""", text);
        Assert.Matches("""(?m)^cluster_vm_net_tx_packets_total\{[^}]*vm="web-1"[^}]*\} 2( |$)""", text);
        Assert.DoesNotMatch("""(?m)^cluster_vm_disk_\w+\{[^}]*vm="web-2"[^}]*\}""", text);
        Assert.Matches("""(?m)^cluster_host_disk_write_bytes_total\{[^}]*host="h1:1"[^}]*\} 3145728( |$)""", text);
        Assert.Matches("""(?m)^cluster_host_disk_write_ops_total\{[^}]*host="h1:1"[^}]*\} 768( |$)""", text);
        Assert.Matches("""(?m)^cluster_host_net_rx_packets_total\{[^}]*host="h1:1"[^}]*\} 3( |$)""", text);
        Assert.Matches("""(?m)^cluster_vms\S*\{[^}]*status="stopped"[^}]*\} 1( |$)""", text);
        Assert.Matches("""(?m)^cluster_migrations_in_progress\S* 0( |$)""", text);
        // The three asks went through the gate with the scraper's token.
        Assert.Equal(["ListVms", "ListHosts", "ListMigrations"], _api.Received.Select(r => r.GetType().Name));
    }

    [Fact]
    public async Task A_scrape_without_a_token_or_with_a_wrong_one_is_refused_and_asks_the_cluster_nothing()
    {
        using (var anonymous = _api.Client(null))
        {
            using var response = await anonymous.GetAsync(MetricsEndpoint.MetricsPath);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
        }
        using (var stranger = _api.Client(TokenText.New(out _)))
            Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.GetAsync(MetricsEndpoint.MetricsPath)).StatusCode);
        Assert.Empty(_api.Received);
    }

    [Fact]
    public async Task Health_needs_no_token_and_readiness_says_why_the_node_is_not_ready()
    {
        using var anonymous = _api.Client(null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(MetricsEndpoint.HealthPath)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(MetricsEndpoint.ReadyPath)).StatusCode);
        _notReady = ["this node is joining in its cluster, not up"];
        using var response = await anonymous.GetAsync(MetricsEndpoint.ReadyPath);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("joining", await response.Content.ReadAsStringAsync());
        Assert.Empty(_api.Received);
    }
}
