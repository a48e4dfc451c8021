using System.Text.Json;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Live;
using Cluster.Vmctl.Output;

namespace Cluster.Node.Tests.Vmctl.Live;

public class TopViewTests
{
    private static readonly DateTime At = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    private static HostStatus Host(string host, double cpu, params PlacedVm[] vms) =>
        new(host, 4, 1UL << 30, new Dictionary<string, string>(), "AuthenticAMD", [], vms, vms.Length, cpu, 0, At);

    private static CannedClient Cluster() => new CannedClient()
        .On<ListHosts>(new HostList(
        [
            Host("h1:1", 2.0, new PlacedVm("a", 2, 256UL << 20, null, 1.5), new PlacedVm("b", 1, 64UL << 20, null, 0.5, 100UL << 20)),
            Host("h2:1", 0.0),
        ]))
        .On<ListVms>(new VmList(
        [
            new VmInfo(CannedClient.Spec("a"), VmStatus.Running, 0, At, "", "h1:1"),
            new VmInfo(CannedClient.Spec("b"), VmStatus.Running, 0, At, "", "h1:1"),
            new VmInfo(CannedClient.Spec("c"), VmStatus.Stopped, 0, At, "", ""),
        ]))
        .On<ListMigrations>(new MigrationList(
        [
            CannedClient.Migration("a", MigrationState.PreCopy),
            CannedClient.Migration("z", MigrationState.Completed, remaining: 0, id: "m-0"),
        ]))
        .On<GetRebalanceStatus>(new RebalanceStatus(RebalanceMode.Automatic, 0.25, 0.2, null,
            [new RebalanceHost("h1:1", 0.5, true, new Dictionary<string, string> { ["b"] = "no host has 1 vCPU free" }),
             new RebalanceHost("h2:1", 0.0, false, new Dictionary<string, string>())], [], [], 1));

    private static async Task<(int Code, string Out, CannedClient Client)> Top(CannedClient client, params string[] args)
    {
        var line = CommandLine.Parse(["top", "--once", .. args], out _)!;
        Assert.True(VmctlApp.TryPrepare(line, out var id, out var request, out _));
        var stdout = new StringWriter();
        var code = await VmctlApp.RunAsync(client, line, id, request, "h1:1", new Printer(stdout, line.Has("--json")), TextWriter.Null,
            new LiveOptions(Ansi: true, TimeSpan.Zero, Once: true), CancellationToken.None);
        return (code, stdout.ToString(), client);
    }

    [Fact]
    public async Task Prints_one_frame_of_hosts_their_vms_with_their_workers_memory_migrations_and_the_rebalancer()
    {
        var (code, frame, client) = await Top(Cluster());
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(4, client.Asked.Count);
        Assert.Contains("rebalancer: automatic, imbalance 0.250 (threshold 0.200, above), 0 of its moves in flight, 1 made", frame);
        Assert.Matches(@"h1:1\s+\[########\.{8}\]  50%\s+2\.00\s+3/4\s+320\.0 MiB/1\.0 GiB\s+DRAINING", frame);
        Assert.Matches(@"  a\s+Running\s+1\.50\s+2\s+256\.0 MiB\s+-> 10\.0\.0\.2:4053 \[#{15}\.{5}\]  75%", frame);
        Assert.Matches(@"  b\s+Running\s+0\.50\s+1\s+100\.0 MiB/64\.0 MiB\s+FITS NOWHERE: no host has 1 vCPU free", frame);
        Assert.Matches(@"h2:1\s+\[\.{16}\]   0%\s+0\.00\s+0/4", frame);
        Assert.Matches(@"\(no host\)\n  c\s+Stopped", frame);
        Assert.Contains("migrations in flight: 1", frame);
        Assert.DoesNotContain("m-0", frame);
        Assert.DoesNotContain("\u001b[", frame.Split('\n', 2)[1]);
    }

    [Fact]
    public async Task Shows_what_did_not_answer_instead_of_failing()
    {
        var (code, frame, _) = await Top(new CannedClient().On<ListHosts>(new HostList([Host("h1:1", 0)])).On<ListVms>(new VmList([])));
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("rebalancer: not answering", frame);
        Assert.Contains("migrations: not answering", frame);
        Assert.Contains("! migrations: no answer to ListMigrations", frame);
        Assert.Contains("h1:1", frame);
    }

    [Fact]
    public async Task Lists_the_vms_by_node_when_no_host_figures_come()
    {
        var (_, frame, _) = await Top(new CannedClient().On<ListVms>(new VmList([new VmInfo(CannedClient.Spec("a"), VmStatus.Running, 0, At, "", "h1:1")])));
        Assert.Matches(@"h1:1 \(no host figures\)\n  a\s+Running", frame);
        Assert.Contains("! hosts: no answer to ListHosts", frame);
    }

    [Fact]
    public async Task Refreshes_over_the_same_client_until_cancelled()
    {
        using var cancel = new CancellationTokenSource();
        var client = Cluster();
        client.AfterAsk = c => { if (c.Asked.Count == 12) cancel.Cancel(); };
        var stdout = new StringWriter();
        var code = await TopView.RunAsync(client, "h1:1", new Printer(stdout, json: false), new LiveOptions(Ansi: true, TimeSpan.Zero),
            () => At, cancel.Token);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(12, client.Asked.Count);
        Assert.Equal(3, stdout.ToString().Split("\u001b[H\u001b[2J").Length - 1);
        Assert.Contains("Ctrl-C quits", stdout.ToString());
    }

    [Fact]
    public async Task Prints_the_snapshot_as_json()
    {
        var (_, json, _) = await Top(Cluster(), "--json");
        var root = JsonDocument.Parse(json).RootElement;
        Assert.Equal(2, root.GetProperty("hosts").GetArrayLength());
        Assert.Equal(0.75, root.GetProperty("migrations")[0].GetProperty("progress").GetDouble());
        Assert.Equal("Automatic", root.GetProperty("rebalance").GetProperty("mode").GetString());
    }
}
