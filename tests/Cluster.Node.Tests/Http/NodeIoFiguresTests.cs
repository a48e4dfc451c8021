using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cluster.Node.Tests.TestUtils;
using Cluster.Vmm.Storage;
using Xunit.Abstractions;

namespace Cluster.Node.Tests.Http;

/// <summary>
/// One real cluster node (it seeds itself) with its HTTPS API, running the blk guest on a raw disk: the guest writes 4 KiB
/// blocks for as long as the tests look (`seq 0`, paced by gap_us), so its disk counters travel from the virtio-blk
/// device through its VMM worker's stats, the host's status and the node's history to /metrics and the dashboard.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class NodeIoFiguresTests(NodeIoFiguresTests.Node node, ITestOutputHelper output) : IClassFixture<NodeIoFiguresTests.Node>
{
    /// <summary>The node and its writing VM, shared by the tests of the class.</summary>
    public sealed class Node : IAsyncLifetime
    {
        public const string Vm = "io-1";
        private readonly string _data = Path.Combine(Path.GetTempPath(), "node-io", Guid.NewGuid().ToString("N"));
        private readonly int _port = ProcessRunner.FreePort();
        private readonly int _httpPort = ProcessRunner.FreePort();
        private NodeProcess? _process;

        public string Host => $"127.0.0.1:{_port}";

        public Uri Api => new($"https://127.0.0.1:{_httpPort}");

        public string DataDirectory => Path.Combine(_data, "n0");

        public string Data => _data;

        public HttpClient Client()
        {
            var http = PinnedHttps.Client(Path.Combine(DataDirectory, "http-cert.pem"), Api);
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", NodeTokens.AdminToken(Host));
            return http;
        }

        public async Task InitializeAsync()
        {
            var shared = Path.Combine(_data, "shared");
            Directory.CreateDirectory(shared);
            var config = Path.Combine(_data, "images.conf");
            await File.WriteAllTextAsync(config, $"cluster-hypervisor.images.allowed-dirs = [\"{shared}\"]\n");
            _process = await NodeProcess.StartAsync(_port, DataDirectory, "--seed", Host, "--journal", $"sqlite:{Path.Combine(_data, "journal.db")}",
                "--http", $"127.0.0.1:{_httpPort}", "--config", config, "--vcpus", "2", "--memory", "64M", "--rebalance", "off");
            var image = Path.Combine(shared, "io.img");
            DiskImage.Create(image, DiskFormat.Raw, 16UL << 20);
            ProcessResult created = null!;
            // 4 KiB then 2 ms of guest time: at most 2 MB/s, for as long as the VM runs.
            await ClusterVmctl.Eventually(async () => (created = await ProcessRunner.RunAsync(Executables.VmctlDll, TimeSpan.FromSeconds(60),
                ["--node", Host, .. NodeTokens.VmctlOptions(Host), "--timeout", "20", "create", Vm, "--image", "blk", "--memory", "32M",
                    "--disk", $"path={image},format=raw", "--arg", "gap_us=2000", "--arg", "seq", "--arg", "0", "--start"])).ExitCode == 0,
                "the writing VM created and started", 60);
        }

        public Task DisposeAsync()
        {
            NodeTeardown.Run([_process], "io-", null, _data);
            return Task.CompletedTask;
        }
    }

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    /// <summary>The value of a counter's sample for <paramref name="label"/> in Prometheus text, or null when absent.</summary>
    private static double? Sample(string text, string metric, string label)
    {
        var m = Regex.Match(text, $@"(?m)^{metric}\{{[^}}]*{label}[^}}]*\}} (\S+)");
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    [Fact]
    public async Task A_vm_writing_to_its_disk_shows_growing_disk_counters_in_metrics_and_its_host_sums_them()
    {
        using var http = node.Client();
        async Task<string> Scrape()
        {
            using var response = await http.GetAsync("/metrics");
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            return text;
        }

        string first = "";
        await ClusterVmctl.Eventually(async () => Sample(first = await Scrape(), "cluster_vm_disk_write_bytes_total", $"vm=\"{Node.Vm}\"") > 0,
            "io-1's disk writes in /metrics", 90);
        var written = Sample(first, "cluster_vm_disk_write_bytes_total", $"vm=\"{Node.Vm}\"")!.Value;
        string later = "";
        await ClusterVmctl.Eventually(async () => Sample(later = await Scrape(), "cluster_vm_disk_write_bytes_total", $"vm=\"{Node.Vm}\"") > written,
            "io-1's disk writes to grow", 60);
        var ops = Sample(later, "cluster_vm_disk_write_ops_total", $"vm=\"{Node.Vm}\"");
        var bytes = Sample(later, "cluster_vm_disk_write_bytes_total", $"vm=\"{Node.Vm}\"")!.Value;
        output.WriteLine($"io-1 wrote {written} then {bytes} bytes in {ops} requests");
        // seq writes 4 KiB blocks, one request each (the two counters are read one after the other: a block may fall between).
        Assert.InRange(bytes / ops!.Value, 4000, 4200);
        Assert.Equal(0, Sample(later, "cluster_vm_net_rx_bytes_total", $"vm=\"{Node.Vm}\""));
        Assert.Matches("""(?m)^# TYPE cluster_vm_disk_read_bytes_total counter""", later);
        var host = Sample(later, "cluster_host_disk_write_bytes_total", $"host=\"{node.Host}\"");
        Assert.True(host >= bytes, $"the host's total {host} is below its one VM's {bytes}");
    }

    [Fact]
    public async Task The_node_keeps_the_vms_disk_rate_and_the_dashboard_draws_it()
    {
        using var http = node.Client();
        JsonElement history = default;
        // The node samples every 10 s; a rate needs two samples of the running guest.
        await ClusterVmctl.Eventually(async () =>
        {
            history = JsonDocument.Parse(await http.GetStringAsync($"/api/v1/history?vm={Node.Vm}")).RootElement.Clone();
            return history.GetProperty("series").GetProperty("diskWrite").EnumerateArray().Any(v => v.ValueKind == JsonValueKind.Number && v.GetDouble() > 0);
        }, "a disk write rate in io-1's history", 90);
        var rates = history.GetProperty("series").GetProperty("diskWrite").EnumerateArray().Where(v => v.ValueKind == JsonValueKind.Number).Select(v => v.GetDouble()).ToList();
        output.WriteLine($"io-1's disk write rates: {string.Join(", ", rates.Select(r => $"{r / 1024:0} KiB/s"))}");
        Assert.All(rates, r => Assert.InRange(r, 0, 1e9));
        var hostHistory = JsonDocument.Parse(await http.GetStringAsync($"/api/v1/history?host={node.Host}")).RootElement;
        Assert.Contains(hostHistory.GetProperty("series").GetProperty("diskWrite").EnumerateArray(), v => v.ValueKind == JsonValueKind.Number && v.GetDouble() > 0);

        if (!File.Exists(ChromiumFactAttribute.Chromium))
        {
            output.WriteLine($"the dashboard part is not run: {ChromiumFactAttribute.Chromium} is not installed (apt-get install chromium)");
            return;
        }
        await using var browser = await HeadlessChromium.StartAsync(Path.Combine(node.Data, "profiles"), "--ignore-certificate-errors");
        await browser.Navigate($"{node.Api}#token={NodeTokens.AdminToken(node.Host)}");
        await browser.Click("nav button[data-view='vms']");
        await browser.WaitFor($"document.querySelector('tr[data-vm=\"{Node.Vm}\"] button[data-action=graphs]')", Wait, "io-1's row");
        await browser.Click($"tr[data-vm=\"{Node.Vm}\"] button[data-action=graphs]");
        const string disk = "#graphs-body svg[data-series=\"read,write\"]";
        // A line needs two rates: three samples (the page fetches the history again every 10 s).
        await browser.WaitFor($"document.querySelector('{disk} polyline[data-name=write]')", Wait, "the disk graph's write line");
        Assert.Equal(4, (await browser.Evaluate("document.querySelectorAll('#graphs-body svg').length")).GetInt32());
        Assert.True((await browser.Evaluate("!!document.querySelector('#graphs-body svg[data-series=\"received,sent\"]')")).GetBoolean(), "no network graph");
        // The y axis's top label is the largest rate drawn: not zero.
        var top = (await browser.Evaluate($"document.querySelector('{disk} text').textContent")).GetString();
        output.WriteLine($"the disk graph's top: {top}");
        Assert.Matches(@"^[1-9][0-9.]* (B|KiB|MiB|GiB)/s$", top);
        await browser.Evaluate("document.getElementById('graphs').scrollIntoView()");
        output.WriteLine("screenshot: " + await browser.Screenshot(Path.Combine(AppContext.BaseDirectory, "artefacts", "dashboard", "vm-disk-graphs.png")));
        Assert.Empty(browser.Problems);
    }
}
