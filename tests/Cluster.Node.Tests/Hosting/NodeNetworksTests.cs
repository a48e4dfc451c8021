using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Cluster.Contracts.Validation;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Hosting;

/// <summary>
/// Networks as cluster objects on a real standalone `cluster-node run` process, through the real `vmctl` and the HTTP
/// API: create and list, an overlapping subnet refused, a VM with a NIC recorded with its MAC and address (it is only
/// created, never started, so the test needs no host networking), deleting the network refused while the VM uses it.
/// </summary>
public sealed class NodeNetworksTests : IDisposable
{
    private const string Address = "127.0.0.1";
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-node-networks", Guid.NewGuid().ToString("N"));
    private readonly int _port = ProcessRunner.FreePort();
    private readonly int _httpPort = ProcessRunner.FreePort();
    private readonly SingleNodeVmctl _vmctl;

    public NodeNetworksTests() => _vmctl = new SingleNodeVmctl(_port, timeoutSeconds: 20);

    [Fact]
    public async Task Networks_are_created_listed_checked_against_each_other_and_held_by_the_vms_that_use_them()
    {
        using var node = await NodeProcess.StartAsync(_port, _data, "--http", $"{Address}:{_httpPort}");

        await _vmctl.Ok("network", "create", "lan", "--mode", "nat", "--subnet", "10.88.0.0/24");
        var list = JsonDocument.Parse((await _vmctl.Ok("--json", "network", "list")).Stdout).RootElement;
        var lan = Assert.Single(list.EnumerateArray());
        Assert.Equal(("lan", "nat", "10.88.0.0/24", 1500), (lan.GetProperty("name").GetString(), lan.GetProperty("mode").GetString(),
            lan.GetProperty("subnet").GetString(), lan.GetProperty("mtu").GetInt32()));

        var overlap = await _vmctl.Run("network", "create", "ov", "--mode", "overlay", "--subnet", "10.88.0.0/16");
        Assert.Equal(1, overlap.ExitCode);
        Assert.Contains("network 'ov' refused: subnet 10.88.0.0/16 overlaps network 'lan' (10.88.0.0/24)", overlap.Stderr);

        await _vmctl.Ok("create", "web", "--image", "hello", "--memory", "4M", "--nic", "network=lan");
        var shown = JsonDocument.Parse((await _vmctl.Ok("--json", "show", "web")).Stdout).RootElement;
        var nic = Assert.Single(shown.GetProperty("nics").EnumerateArray());
        var mac = nic.GetProperty("mac").GetString()!;
        Assert.Equal((MacText.Generate("web", 0), "10.88.0.2"), (mac, nic.GetProperty("ip").GetString()));
        Assert.Contains($"web {mac} 10.88.0.2", (await _vmctl.Ok("network", "show", "lan")).Stdout);

        var used = await _vmctl.Run("network", "delete", "lan");
        Assert.Equal(1, used.ExitCode);
        Assert.Contains("used by VM(s) web", used.Stderr);

        using var http = PinnedHttps.Client(Path.Combine(_data, "http-cert.pem"), new Uri($"https://{Address}:{_httpPort}"));
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", NodeTokens.AdminToken($"{Address}:{_port}"));
        var got = await http.GetAsync("/api/networks/lan");
        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
        var addresses = JsonDocument.Parse(await got.Content.ReadAsStringAsync()).RootElement.GetProperty("addresses");
        Assert.Equal(mac, Assert.Single(addresses.EnumerateArray()).GetProperty("mac").GetString());
        var conflict = await http.PostAsync("/api/networks",
            new StringContent("""{"name":"dmz","mode":"nat","subnet":"10.88.0.128/25"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Contains("overlaps network 'lan'", await conflict.Content.ReadAsStringAsync());
        var created = await http.PostAsync("/api/networks",
            new StringContent("""{"name":"dmz","mode":"overlay","subnet":"10.89.0.0/24"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var dmz = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("spec");
        Assert.Equal((1450, 1000), (dmz.GetProperty("mtu").GetInt32(), dmz.GetProperty("vni").GetInt32()));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/networks/nope")).StatusCode);
        var (status, body) = await GatedApi.Call(http, HttpMethod.Delete, "/api/networks/lan");
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("used by VM(s) web", body.GetProperty("message").GetString());

        await _vmctl.Ok("delete", "web");
        await SingleNodeVmctl.Eventually(async () => (await _vmctl.Run("network", "delete", "lan")).ExitCode == 0, "lan to be free once web is deleted");
        Assert.Contains("dmz", (await _vmctl.Ok("network", "list")).Stdout);
        Assert.DoesNotContain("lan", (await _vmctl.Ok("network", "list")).Stdout);
    }

    public void Dispose()
    {
        if (Directory.Exists(_data))
            Directory.Delete(_data, recursive: true);
    }
}
