using System.Diagnostics;
using System.Text.Json;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Clustering;

/// <summary>
/// Three hosts in network namespaces; one link between two of them breaks while both still reach the third (host 2 drops
/// everything host 1 sends, or the link flaps). Akka's split brain resolver alone downs every "indirectly connected" node:
/// both ends, leaving one host of three (and, with the minority guard and down-all-when-unstable, sometimes none). The
/// link-aware downing (src/Cluster.Actors/Downing) downs exactly one end: two hosts keep running, the downed host's guests
/// are restarted on them, and no VM ever runs on two hosts at once.
/// </summary>
public sealed class AsymmetricPartitionTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-asym", Guid.NewGuid().ToString("N"));
    private readonly NetworkNamespaces _net = new(3);
    private readonly List<NodeProcess> _nodes = [];
    private const int Port = 4712;

    private string Host(int i) => $"{_net.Address(i)}:{Port}";

    private string RunLog(int i) => Path.Combine(_data, $"run{i}.log");

    private ClusterVmctl Ctl => new(Host);

    [Fact]
    public Task A_one_way_link_failure_downs_one_end_only() => BreakOneLinkAsync(async () =>
    {
        DropFrom(2, 1);
        await Task.Delay(TimeSpan.FromSeconds(7));
        Unfilter(2);
    });

    [Fact]
    public Task A_flapping_link_downs_one_end_only() => BreakOneLinkAsync(async () =>
    {
        // Both directions of the 1-2 link go down for 4 s (long enough for the failure detectors to mark both ends unreachable)
        // and up for 1 s (long enough for them to see each other again), for 15 s.
        for (var end = DateTime.UtcNow.AddSeconds(15); DateTime.UtcNow < end;)
        {
            DropFrom(2, 1);
            DropFrom(1, 2);
            await Task.Delay(TimeSpan.FromSeconds(4));
            Unfilter(2);
            Unfilter(1);
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    });

    private async Task BreakOneLinkAsync(Func<Task> fault)
    {
        Directory.CreateDirectory(_data);
        for (var i = 0; i < 3; i++)
            _nodes.Add(await NodeProcess.StartAsync(_net.Inside(i, ProcessRunner.DotnetExec(Executables.NodeDll,
            [
                "run", "--host", _net.Address(i), "--port", $"{Port}", "--data", Path.Combine(_data, $"n{i}"), "--backend", "emulated",
                "--seed", Host(0), "--journal", $"sqlite:{Path.Combine(_data, "journal.db")}", "--vcpus", "2", "--memory", "32M", "--rebalance", "off",
                "--run-log", RunLog(i), .. TestCa.NodeArgs,
            ]))));
        await ClusterVmctl.Eventually(async () => await Ctl.MembersAsync(0) == 3, "three hosts");
        string[] vms = ["a0", "a1", "a2", "a3", "a4", "a5"];
        foreach (var id in vms)
            await Ctl.Ok(0, "create", id, "--image", "counter", "--memory", "2M", "--start");
        var before = (await Ctl.ListAsync(0)).ToDictionary(v => v.GetProperty("id").GetString()!, v => v.GetProperty("node").GetString()!);
        Assert.True(before.ContainsValue(Host(1)) && before.ContainsValue(Host(2)), $"spread placement: {string.Join(", ", before)}");

        var faulted = Stopwatch.StartNew();
        await fault();

        // One end of the broken link is downed (its process ends); give the resolver time to do worse (stable-after 2 s and
        // down-all-when-unstable 15 s after stable-after, counted from the first change) before judging.
        while (faulted.Elapsed < TimeSpan.FromSeconds(40) && !_nodes[1].HasExited && !_nodes[2].HasExited)
            await Task.Delay(250);
        var downedAfter = faulted.Elapsed;
        while (faulted.Elapsed < downedAfter + TimeSpan.FromSeconds(15))
            await Task.Delay(500);
        var exited = Enumerable.Range(0, 3).Where(i => _nodes[i].HasExited).ToList();
        Assert.True(exited.Count == 1 && exited[0] != 0,
            $"hosts that ended: [{string.Join(", ", exited)}] (first after {downedAfter.TotalSeconds:0.0} s); decisions:\n{Decisions()}");
        var alive = Enumerable.Range(0, 3).Where(i => !exited.Contains(i)).ToList();

        await ClusterVmctl.Eventually(async () =>
        {
            var list = await Ctl.ListAsync(alive[0]);
            return list.Count == vms.Length && list.All(v => v.GetProperty("status").GetString() == "Running" &&
                                                             alive.Select(Host).Contains(v.GetProperty("node").GetString()));
        }, "every VM running on the two hosts left", 60);
        Assert.Equal(2, await Ctl.MembersAsync(alive[0]));

        var intervals = RunIntervals.Read([RunLog(0), RunLog(1), RunLog(2)], _ => long.MaxValue);
        RunIntervals.AssertNoOverlap(intervals);
        RunIntervals.AssertEachRunsOnce(intervals, vms);
    }

    private string Decisions() =>
        string.Join('\n', _nodes.SelectMany((n, i) => n.Output.Split('\n')
            .Where(l => l.Contains("SBR", StringComparison.Ordinal) || l.Contains("link-aware", StringComparison.OrdinalIgnoreCase) ||
                        l.Contains("minority", StringComparison.Ordinal) || l.Contains("Downing", StringComparison.OrdinalIgnoreCase))
            .Select(l => $"n{i}: {l}")));

    /// <summary>Host <paramref name="i"/> drops every packet from host <paramref name="peer"/> (what it sends still passes).</summary>
    private void DropFrom(int i, int peer) =>
        Nft(i, $"table inet asym {{ chain input {{ type filter hook input priority 0; policy accept; ip saddr {_net.Address(peer)} drop; }}; }}");

    private void Unfilter(int i) => Nft(i, "delete table inet asym");

    private void Nft(int i, string script) => _net.Nft(i, script);

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
