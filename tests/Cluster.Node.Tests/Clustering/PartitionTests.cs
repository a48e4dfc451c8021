using System.Text.Json;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Clustering;

/// <summary>
/// Three hosts, each in its own network namespace on a bridge; one host's link is cut. The cut-off host
/// (a minority) must pause its VMs before the majority downs it and restarts them, so no VM ever runs
/// on two hosts at once; then the downed host terminates. The journal is a SQLite file they share
/// (the namespaces share the file system, not the loopback network).
/// </summary>
public sealed class PartitionTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-partition", Guid.NewGuid().ToString("N"));
    private readonly NetworkNamespaces _net = new(3);
    private readonly List<NodeProcess> _nodes = [];
    private const int Port = 4711;

    private string Host(int i) => $"{_net.Address(i)}:{Port}";

    private string RunLog(int i) => Path.Combine(_data, $"run{i}.log");

    private ClusterVmctl Ctl => new(Host);

    private Task<ProcessResult> Ok(int via, params string[] args) => Ctl.Ok(via, args);

    private Task<List<JsonElement>> ListAsync(int via) => Ctl.ListAsync(via);

    private static Task Eventually(Func<Task<bool>> condition, string what, int seconds = 90) =>
        ClusterVmctl.Eventually(condition, what, seconds);

    [Fact]
    public async Task A_cut_off_host_pauses_its_vms_before_the_majority_restarts_them_and_no_vm_ever_runs_twice()
    {
        Directory.CreateDirectory(_data);
        for (var i = 0; i < 3; i++)
            _nodes.Add(await NodeProcess.StartAsync(_net.Inside(i, ProcessRunner.DotnetExec(Executables.NodeDll,
            [
                "run", "--host", _net.Address(i), "--port", $"{Port}", "--data", Path.Combine(_data, $"n{i}"), "--backend", "emulated",
                "--seed", Host(0), "--journal", $"sqlite:{Path.Combine(_data, "journal.db")}", "--vcpus", "2", "--memory", "32M", "--rebalance", "off",
                "--label", $"zone=z{i}", "--run-log", RunLog(i), .. TestCa.NodeArgs,
            ]))));
        await Eventually(async () =>
            JsonDocument.Parse((await Ok(0, "--json", "nodes")).Stdout).RootElement.GetArrayLength() == 3, "three hosts");
        string[] vms = ["m0", "m1", "m2", "m3"];
        foreach (var id in vms)
            await Ok(id == "m3" ? 1 : 0, "create", id, "--image", "counter", "--memory", "4M", "--start");
        // Spread placement leaves at least one VM on each host; cut off host 2 (or host 1 if it has none).
        var before = (await ListAsync(0)).ToDictionary(v => v.GetProperty("id").GetString()!, v => v.GetProperty("node").GetString()!);
        var cut = before.ContainsValue(Host(2)) ? 2 : 1;
        var lost = before.Where(kv => kv.Value == Host(cut)).Select(kv => kv.Key).ToList();
        Assert.NotEmpty(lost);

        _net.Isolate(cut);

        await Eventually(async () =>
        {
            var list = await ListAsync(0);
            return list.Count == 4 && list.All(v => v.GetProperty("status").GetString() == "Running" && v.GetProperty("node").GetString() != Host(cut));
        }, $"{string.Join(",", lost)} running on the majority");
        await Eventually(() => Task.FromResult(_nodes[cut].HasExited), "the downed host to terminate", 60);
        Assert.Contains("in a minority, pausing its VMs", _nodes[cut].Output);

        var intervals = RunIntervals.Read([RunLog(0), RunLog(1), RunLog(2)], _ => long.MaxValue);
        RunIntervals.AssertNoOverlap(intervals);
        RunIntervals.AssertEachRunsOnce(intervals, vms);
        Assert.All(intervals.Where(x => x.Host == cut), x => Assert.NotEqual(long.MaxValue, x.End));
        foreach (var id in lost)
            await Eventually(async () => (await Ok(0, "console", id, "--bytes", "64")).Stdout.Contains("count ", StringComparison.Ordinal), $"{id}'s console");
    }

    public void Dispose()
    {
        foreach (var node in _nodes)
            node.Dispose();
        _net.Dispose();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
