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
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-partition", Guid.NewGuid().ToString("N"));
    private readonly NetworkNamespaces _net = new(3);
    private readonly List<NodeProcess> _nodes = [];
    private const int Port = 4711;

    private string Host(int i) => $"{_net.Address(i)}:{Port}";

    private string RunLog(int i) => Path.Combine(_data, $"run{i}.log");

    private async Task<ProcessResult> Ok(int via, params string[] args)
    {
        var result = await ProcessRunner.RunAsync(Executables.VmctlDll, CommandTimeout, ["--node", Host(via), "--timeout", "20", .. args]);
        Assert.True(result.ExitCode == 0, $"vmctl {string.Join(' ', args)} -> {result.ExitCode}\n{result.Stdout}\n{result.Stderr}");
        return result;
    }

    private async Task<List<JsonElement>> ListAsync(int via) =>
        [.. JsonDocument.Parse((await Ok(via, "--json", "list")).Stdout).RootElement.EnumerateArray()];

    private static async Task Eventually(Func<Task<bool>> condition, string what, int seconds = 90)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(500);
        }
    }

    [Fact]
    public async Task A_cut_off_host_pauses_its_vms_before_the_majority_restarts_them_and_no_vm_ever_runs_twice()
    {
        Directory.CreateDirectory(_data);
        for (var i = 0; i < 3; i++)
            _nodes.Add(await NodeProcess.StartAsync(_net.Inside(i, ProcessRunner.DotnetExec(Executables.NodeDll,
            [
                "run", "--host", _net.Address(i), "--port", $"{Port}", "--data", Path.Combine(_data, $"n{i}"), "--backend", "emulated",
                "--seed", Host(0), "--journal", $"sqlite:{Path.Combine(_data, "journal.db")}", "--vcpus", "2", "--memory", "32M",
                "--label", $"zone=z{i}", "--run-log", RunLog(i),
            ]))));
        await Eventually(async () =>
            JsonDocument.Parse((await Ok(0, "--json", "nodes")).Stdout).RootElement.GetArrayLength() == 3, "three hosts");
        string[] vms = ["m0", "m1", "m2", "m3"];
        await Ok(0, "create", "m0", "--image", "counter", "--memory", "4M", "--label", "require.zone=z0", "--start");
        await Ok(0, "create", "m1", "--image", "counter", "--memory", "4M", "--label", "require.zone=z1", "--start");
        await Ok(0, "create", "m2", "--image", "counter", "--memory", "4M", "--label", "require.zone=z2", "--start");
        await Ok(1, "create", "m3", "--image", "counter", "--memory", "4M", "--label", "require.zone=z2", "--start");

        _net.Isolate(2);

        await Eventually(async () =>
        {
            var list = await ListAsync(0);
            return list.Count == 4 && list.All(v => v.GetProperty("status").GetString() == "Running" && v.GetProperty("node").GetString() != Host(2));
        }, "m2 and m3 running on the majority");
        await Eventually(() => Task.FromResult(_nodes[2].HasExited), "the downed host to terminate", 60);
        Assert.Contains("in a minority, pausing its VMs", _nodes[2].Output);

        var intervals = RunIntervals.Read([RunLog(0), RunLog(1), RunLog(2)], _ => long.MaxValue);
        RunIntervals.AssertNoOverlap(intervals);
        RunIntervals.AssertEachRunsOnce(intervals, vms);
        Assert.All(intervals.Where(x => x.Host == 2), x => Assert.NotEqual(long.MaxValue, x.End));
        foreach (var id in (string[])["m2", "m3"])
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
