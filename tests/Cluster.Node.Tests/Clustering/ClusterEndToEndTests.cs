using System.Globalization;
using System.Text.Json;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Clustering;

/// <summary>
/// Three real `cluster-node run` processes on loopback forming one cluster, driven by the real vmctl
/// through the ClusterClient. The journal is PostgreSQL when CLUSTER_PG_URL is set (scripts/postgres),
/// else one SQLite file in WAL mode shared by the three.
/// </summary>
public sealed class ClusterEndToEndTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-e2e", Guid.NewGuid().ToString("N"));
    private readonly int[] _ports = [ProcessRunner.FreePort(), ProcessRunner.FreePort(), ProcessRunner.FreePort()];
    private readonly List<NodeProcess> _nodes = [];
    private PostgresScratch? _postgres;

    private string Host(int i) => $"127.0.0.1:{_ports[i]}";

    private string RunLog(int i) => Path.Combine(_data, $"run{i}.log");

    private ClusterVmctl Ctl => new(Host);

    private Task<ProcessResult> Vmctl(int via, params string[] args) => Ctl.Run(via, args);

    private Task<ProcessResult> Ok(int via, params string[] args) => Ctl.Ok(via, args);

    private Task<List<JsonElement>> ListAsync(int via) => Ctl.ListAsync(via);

    private static Task Eventually(Func<Task<bool>> condition, string what, int seconds = 90) =>
        ClusterVmctl.Eventually(condition, what, seconds);

    private async Task StartClusterAsync()
    {
        Directory.CreateDirectory(_data);
        if (Environment.GetEnvironmentVariable("CLUSTER_PG_URL") is { Length: > 0 } pg)
            _postgres = new PostgresScratch(pg);
        var journal = _postgres is not null ? $"postgres:{_postgres.ConnectionString}" : $"sqlite:{Path.Combine(_data, "journal.db")}";
        for (var i = 0; i < 3; i++)
            _nodes.Add(await NodeProcess.StartAsync(_ports[i], Path.Combine(_data, $"n{i}"),
                "--seed", Host(0), "--journal", journal, "--vcpus", "2", "--memory", "32M", "--rebalance", "off", "--label", $"zone=z{i}",
                "--run-log", RunLog(i)));
        // Host 0 answers once the cluster has formed; on a loaded machine a first vmctl may time out before that.
        await Eventually(async () => await new ClusterVmctl(Host).MembersAsync(0) == 3, "three hosts");
    }

    [Fact]
    public async Task Places_by_capacity_labels_and_anti_affinity_and_restarts_a_killed_hosts_vms_exactly_once_elsewhere()
    {
        await StartClusterAsync();

        var big = await Vmctl(1, "create", "big", "--image", "counter", "--memory", "64M");
        Assert.Equal(1, big.ExitCode);
        Assert.Contains("not enough memory", big.Stderr);
        var labelled = await Vmctl(1, "create", "nowhere", "--image", "counter", "--memory", "4M", "--label", "require.zone=mars");
        Assert.Equal(1, labelled.ExitCode);
        Assert.Contains("not enough labels", labelled.Stderr);

        Assert.Contains($"on {Host(2)}", (await Ok(0, "create", "z2", "--image", "counter", "--memory", "4M", "--label", "require.zone=z2", "--start")).Stdout);
        var g1 = (await Ok(1, "create", "g1", "--image", "counter", "--memory", "4M", "--anti-affinity", "g", "--start")).Stdout;
        var g2 = (await Ok(2, "create", "g2", "--image", "counter", "--memory", "4M", "--anti-affinity", "g", "--start")).Stdout;
        Assert.NotEqual(g1.Split(" on ")[1], g2.Split(" on ")[1]);
        await Ok(0, "create", "p", "--image", "counter", "--memory", "4M", "--priority", "5", "--start");
        var badId = await Vmctl(0, "create", "Bad_Id", "--image", "counter");
        Assert.Equal(1, badId.ExitCode);
        Assert.Contains("invalid id", badId.Stderr);
        var badVcpus = await Vmctl(0, "create", "x", "--image", "counter", "--vcpus", "99");
        Assert.Equal(1, badVcpus.ExitCode);
        Assert.Contains("invalid vcpus", badVcpus.Stderr);
        Assert.Equal(2, (await Vmctl(0, "leave")).ExitCode);
        Assert.Equal(1, (await Vmctl(0, "leave", "127.0.0.1:1")).ExitCode);

        var before = (await ListAsync(0)).ToDictionary(v => v.GetProperty("id").GetString()!, v => v.GetProperty("node").GetString()!);
        Assert.Equal(["g1", "g2", "p", "z2"], before.Keys.Order());
        var victim = before["g2"] == Host(0) ? 2 : Array.IndexOf(_ports, int.Parse(before["g2"].Split(':')[1], CultureInfo.InvariantCulture));
        var killedAt = Cluster.Actors.Clustering.RunLog.NowNs();
        _nodes[victim].Kill();
        var lost = before.Where(kv => kv.Value == Host(victim)).Select(kv => kv.Key).ToList();
        Assert.NotEmpty(lost);

        // z2 requires zone z2, which only host 2 has: when host 2 dies it must stay down, not run elsewhere.
        string[] survivors = victim == 2 ? ["g1", "g2", "p"] : ["g1", "g2", "p", "z2"];
        await Eventually(async () =>
        {
            var vms = await ListAsync(0);
            return vms.Count == survivors.Length
                && vms.All(v => v.GetProperty("status").GetString() == "Running" && v.GetProperty("node").GetString() != Host(victim));
        }, $"{string.Join(",", lost)} running again off {Host(victim)}");
        var after = (await ListAsync(0)).ToDictionary(v => v.GetProperty("id").GetString()!, v => v.GetProperty("node").GetString()!);
        Assert.Equal(survivors.Order(), after.Keys.Order());
        Assert.NotEqual(after["g1"], after["g2"]);
        foreach (var id in lost.Intersect(survivors))
            await Eventually(async () => (await Ok(0, "console", id, "--bytes", "64")).Stdout.Contains("count ", StringComparison.Ordinal), $"{id}'s console");

        AssertNoOverlap(victim, killedAt, survivors);
    }

    [Fact]
    public async Task A_failed_over_vm_that_fits_no_host_starts_once_room_frees_up_without_a_host_joining_or_leaving()
    {
        await StartClusterAsync();
        // 24 MiB of each host's 32: one such VM per host, so the VM of a killed host fits none of the two left.
        var on = new Dictionary<string, string>();
        foreach (var id in new[] { "w0", "w1", "w2" })
            on[id] = (await Ok(0, "create", id, "--image", "counter", "--memory", "24M", "--start")).Stdout.Split(" on ")[1].Trim();
        Assert.Equal(3, on.Values.Distinct().Count());
        var victim = Array.IndexOf(_ports, int.Parse(on["w2"].Split(':')[1], CultureInfo.InvariantCulture));
        var via = victim == 0 ? 1 : 0;
        _nodes[victim].Kill();

        // The cluster drops the host; w2 fits nowhere and stays down (not listed: no host runs it).
        await Eventually(async () =>
        {
            var vms = await ListAsync(via);
            return vms.Count == 2 && vms.All(v => v.GetProperty("status").GetString() == "Running");
        }, "w0 and w1 listed, w2 down");
        await Eventually(() => Task.FromResult(_nodes.Where((_, i) => i != victim).Any(n => n.Output.Contains("VM w2 fits no live host", StringComparison.Ordinal))),
            "the allocation of w2 refused");

        // Room frees up on a host that stays: nothing joins or leaves the cluster, yet w2 is placed and boots there.
        const string freed = "w0";
        await Ok(via, "stop", freed);
        await Eventually(async () => (await Vmctl(via, "delete", freed)).ExitCode == 0, $"{freed} deleted");
        await Eventually(async () =>
        {
            var vms = (await ListAsync(via)).ToDictionary(v => v.GetProperty("id").GetString()!);
            return vms.TryGetValue("w2", out var w2) && w2.GetProperty("status").GetString() == "Running"
                && w2.GetProperty("node").GetString() == on[freed];
        }, "w2 running again where room was freed", 60);
        await Eventually(async () => (await Ok(via, "console", "w2", "--bytes", "64")).Stdout.Contains("count ", StringComparison.Ordinal), "w2's console");
    }

    private void AssertNoOverlap(int victim, long killedAt, string[] survivors)
    {
        var intervals = RunIntervals.Read([RunLog(0), RunLog(1), RunLog(2)], host => host == victim ? killedAt : long.MaxValue);
        RunIntervals.AssertNoOverlap(intervals);
        RunIntervals.AssertEachRunsOnce(intervals, survivors);
        foreach (var down in new[] { "g1", "g2", "p", "z2" }.Except(survivors))
            Assert.DoesNotContain(intervals, x => x.Vm == down && x.End == long.MaxValue);
    }

    public void Dispose()
    {
        foreach (var node in _nodes)
            node.Dispose();
        _postgres?.Dispose();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
