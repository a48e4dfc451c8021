using System.Text.Json;
using Cluster.Contracts.Events;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;
using Cluster.Node.Hosting;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Clustering;

/// <summary>
/// A rolling upgrade without a guest restart: a cluster node stopped with SIGTERM (what a service manager sends) first
/// drains itself, so its guest moves live to the other host instead of being booted there cold from the journal, and it
/// undrains itself when it starts again. Two real nodes on loopback, a shared SQLite journal.
/// </summary>
public sealed class ShutdownDrainTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-shutdown-drain", Guid.NewGuid().ToString("N"));
    private readonly int[] _ports = [ProcessRunner.FreePort(), ProcessRunner.FreePort()];
    private readonly NodeProcess?[] _nodes = new NodeProcess?[2];

    private string Host(int i) => $"127.0.0.1:{_ports[i]}";

    private string DataOf(int i) => Path.Combine(_data, $"n{i}");

    private ClusterVmctl Ctl => new(Host);

    private async Task StartNode(int i, string seed)
    {
        _nodes[i]?.Dispose();
        _nodes[i] = await NodeProcess.StartAsync(_ports[i], DataOf(i), "--seed", seed, "--journal", $"sqlite:{Path.Combine(_data, "journal.db")}",
            "--vcpus", "2", "--memory", "64M", "--rebalance", "off");
    }

    private async Task<(string Node, string Status)> WhereAsync(string id)
    {
        var vms = (await Ctl.ListAsync(Alive())).Where(v => v.GetProperty("id").GetString() == id).ToList();
        return vms is [var vm] ? (vm.GetProperty("node").GetString()!, vm.GetProperty("status").GetString()!) : ("", "");
    }

    private int Alive() => _nodes[0] is { HasExited: false } ? 0 : 1;

    private async Task<bool> Draining(int via, int host)
    {
        var status = JsonDocument.Parse((await Ctl.Ok(via, "--json", "rebalance")).Stdout).RootElement;
        return status.GetProperty("hosts").EnumerateArray().Any(h => h.GetProperty("host").GetString() == Host(host) && h.GetProperty("draining").GetBoolean());
    }

    [Fact]
    public async Task A_cluster_node_stopped_with_sigterm_moves_its_guest_away_live_and_takes_vms_again_when_it_starts()
    {
        Directory.CreateDirectory(_data);
        await Task.WhenAll(StartNode(0, Host(0)), StartNode(1, Host(0)));
        await ClusterVmctl.Eventually(async () =>
            JsonDocument.Parse((await Ctl.Ok(0, "--json", "nodes")).Stdout).RootElement.GetArrayLength() == 2, "two hosts");
        var created = (await Ctl.Ok(0, "create", "up", "--image", "counter", "--memory", "4M", "--start")).Stdout;
        var a = created.Contains($"on {Host(0)}", StringComparison.Ordinal) ? 0 : 1;
        var b = 1 - a;
        await ClusterVmctl.Eventually(async () => (await Ctl.Ok(b, "console", "up", "--bytes", "64")).Stdout.Contains("count ", StringComparison.Ordinal), "up counting");

        _nodes[a]!.Terminate(TimeSpan.FromSeconds(150));

        var output = _nodes[a]!.Output;
        Assert.Contains("node stopping: draining 1 VM(s) to the other hosts first", output);
        Assert.Contains("node stopping: drained, no VM left here", output);
        Assert.True(File.Exists(Path.Combine(DataOf(a), ShutdownDrain.MarkerFile)), "the node did not remember that it drained itself");
        await ClusterVmctl.Eventually(async () => await WhereAsync("up") == (Host(b), "Running"), "up running on the other host");
        await using (var client = await NodeTokens.ConnectAsync(Host(b), TimeSpan.FromSeconds(30)))
        {
            var events = Assert.IsType<VmEventList>(await client.AskAsync(new GetVmEvents("up"))).Events;
            var history = string.Join("\n", events.Select(e => $"{e.At:O} {e.GetType().Name} {e.Reason}"));
            Assert.True(events.OfType<VmMigrated>().Count() == 1, $"events:\n{history}\nthe stopped node:\n{output}");
            var moved = events.OfType<VmMigrated>().Single();
            Assert.Equal((Host(a), Host(b)), (moved.From, moved.To));
            // Moved live: one start in its whole life, never booted again.
            Assert.Single(events.OfType<VmStarted>());
        }
        Assert.True(await Draining(b, a), "the stopped host is not drained");

        // Started again, it takes VMs again (and forgets that it drained itself).
        await StartNode(a, Host(b));
        await ClusterVmctl.Eventually(async () => !await Draining(b, a), "the restarted host to undrain itself", 120);
        await ClusterVmctl.Eventually(() => Task.FromResult(!File.Exists(Path.Combine(DataOf(a), ShutdownDrain.MarkerFile))), "the marker to go");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        NodeTeardown.Run(_nodes, "shutdown-drain", null, _data);
        return Task.CompletedTask;
    }
}
