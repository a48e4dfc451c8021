using System.Globalization;
using System.Text.RegularExpressions;
using Cluster.Node.Tests.TestUtils;
using Xunit.Abstractions;

namespace Cluster.Node.Tests.Networking;

/// <summary>
/// Two VMs on two hosts talk over an overlay network while one of them moves: two real nodes in their own network
/// namespaces (a shared SQLite journal), an overlay network made with vmctl (VXLAN between the hosts, a bridge on each),
/// an echo guest on one host and a guest on the other that sends it a frame every 10 ms and counts the echoes
/// (guests/net.c, <c>ping</c>). The echo guest is live-migrated to the pinger's host and back while the pings go on:
/// the echoes come back after each move (the target's RARP and the guest's announcement teach both bridges where the MAC
/// went), from the same MAC, and the test reports the pings each move lost and the longest gap. Then the echo guest's host
/// is killed: the guest boots again on the pinger's host with the same MAC and address, and the echoes come back.
/// </summary>
public sealed partial class MigratingPeerPingTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Port = 4713;
    private const string EchoMac = "52:54:00:aa:0e:01";
    private const string PingMac = "52:54:00:aa:0e:02";
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-netping", Guid.NewGuid().ToString("N"));
    private NetworkNamespaces? _net;
    private readonly NodeProcess?[] _nodes = new NodeProcess?[2];

    private string Host(int i) => $"{_net!.Address(i)}:{Port}";

    public async Task InitializeAsync()
    {
        if (new HostNetFactAttribute().Skip is not null)
            return;
        Directory.CreateDirectory(_data);
        _net = new NetworkNamespaces(2);
        for (var i = 0; i < 2; i++)
            _nodes[i] = await NodeProcess.StartAsync(_net.Inside(i, ProcessRunner.DotnetExec(Executables.NodeDll,
            [
                "run", "--host", _net.Address(i), "--port", $"{Port}", "--data", Path.Combine(_data, $"n{i}"), "--backend", "emulated",
                "--seed", Host(0), "--journal", $"sqlite:{Path.Combine(_data, "journal.db")}", "--vcpus", "4", "--memory", "256M",
                "--rebalance", "off", "--label", $"slot={i}", .. TestCa.NodeArgs,
            ])));
    }

    [HostNetFact]
    public async Task An_echo_guest_migrated_there_and_back_and_restarted_after_its_host_died_keeps_answering_from_the_same_mac()
    {
        var ctl = new ClusterVmctl(Host);
        await ClusterVmctl.Eventually(async () => await ctl.MembersAsync(0) == 2, "two hosts");
        await ctl.Ok(0, "network", "create", "ov", "--mode", "overlay", "--subnet", "10.231.7.0/24");
        await ctl.Ok(0, "create", "echo", "--image", "net", "--memory", "32M",
            "--arg", "feat=all", "--arg", "echo", "--arg", "0", "--nic", $"network=ov,mac={EchoMac}", "--start");
        await ctl.Ok(0, "create", "ping", "--image", "net", "--memory", "32M", "--label", "require.slot=0",
            "--arg", "feat=all", "--arg", $"dst={EchoMac}", "--arg", "ping", "--arg", "0", "--arg", "10",
            "--nic", $"network=ov,mac={PingMac}", "--start");
        // The pinger stays on host 0 (the survivor of the host crash at the end: the split brain resolver keeps the side
        // with the lowest address when two hosts lose each other); the echo guest starts on host 1.
        var pingHost = await HostOfAsync(ctl, "ping");
        Assert.Equal(Host(0), pingHost);
        var echoHost = Host(1);
        if (await HostOfAsync(ctl, "echo") != echoHost)
            await MigrateAsync(ctl, echoHost);

        // The pings cross the overlay (host to host over VXLAN) before anything moves.
        await Diagnosed(ctl, () => ClusterVmctl.Eventually(async () => Lines(await ConsoleAsync(ctl, "ping"))[^1].Received >= 50, "echoes across the overlay", 120));

        // There and back: each time the echoes must come back once the move is done.
        var notes = new List<string>();
        foreach (var to in new[] { pingHost, echoHost })
        {
            var before = Lines(await ConsoleAsync(ctl, "ping"))[^1];
            await MigrateAsync(ctl, to);
            Assert.Equal(to, await HostOfAsync(ctl, "echo"));
            var moved = Lines(await ConsoleAsync(ctl, "ping"))[^1];
            await Diagnosed(ctl, () => ClusterVmctl.Eventually(async () => Lines(await ConsoleAsync(ctl, "ping"))[^1].Received >= moved.Received + 100,
                $"echoes after the move to {to}", 90));
            // From the progress line before the move to the one after the echoes came back (lines told apart by their
            // count of pings sent: the console is read as a tail): the longest gap, and the pings that never came back
            // (those in flight at either end aside).
            var during = Lines(await ConsoleAsync(ctl, "ping")).Where(l => l.Sent > before.Sent).ToList();
            var lost = Math.Max(0, during[^1].Sent - during[^1].Received - (before.Sent - before.Received));
            notes.Add($"to {to}: lost {lost} pings, longest gap {during.Max(l => l.RecentGapMs)} ms");
        }
        output.WriteLine("pinging every 10 ms across the overlay while the echo guest moved: " + string.Join("; ", notes));
        var show = (await ctl.Ok(0, "show", "echo")).Stdout;
        Assert.Contains($"mac={EchoMac}", show, StringComparison.Ordinal);
        var address = NicAddress().Match(show).Groups[1].Value;
        Assert.StartsWith("10.231.7.", address, StringComparison.Ordinal);
        // The guest acknowledged the device's announce request after each move (VIRTIO_NET_F_GUEST_ANNOUNCE).
        await ClusterVmctl.Eventually(async () => Regex.Count(await ConsoleAsync(ctl, "echo"), "announce acked ack=0") >= 2,
            "the echo guest to acknowledge both announcements", 30);

        // The echo guest's host dies (kill -9 with its VMM workers): the guest boots again on host 0 with the same MAC and
        // address, and the pinger's echoes come back.
        var beforeCrash = Lines(await ConsoleAsync(ctl, "ping"))[^1];
        _nodes[1]!.Kill();
        await ClusterVmctl.Eventually(async () => (await ctl.ListAsync(0)).Any(v => v.GetProperty("id").GetString() == "echo"
            && v.GetProperty("node").GetString() == pingHost && v.GetProperty("status").GetString() == "Running"), "the echo guest to run on host 0", 120);
        await Diagnosed(ctl, () => ClusterVmctl.Eventually(async () => Lines(await ConsoleAsync(ctl, "ping"))[^1].Received >= beforeCrash.Received + 100,
            "echoes after the failover", 90));
        show = (await ctl.Ok(0, "show", "echo")).Stdout;
        Assert.Contains($"mac={EchoMac}", show, StringComparison.Ordinal);
        Assert.Equal(address, NicAddress().Match(show).Groups[1].Value);
        await ctl.Ok(0, "stop", "ping");
        await ctl.Ok(0, "stop", "echo");
    }

    /// <summary>Runs <paramref name="step"/>; when it fails, adds both consoles and each host's links and bridge tables.</summary>
    private async Task Diagnosed(ClusterVmctl ctl, Func<Task> step)
    {
        try
        {
            await step();
        }
        catch (Exception e) when (e is Xunit.Sdk.XunitException)
        {
            var state = new System.Text.StringBuilder();
            state.Append($"--- vmctl list:\n{(await ctl.Run(0, "list")).Stdout}\n");
            state.Append($"--- events of ping:\n{(await ctl.Run(0, "events", "ping")).Stdout}\n");
            foreach (var vm in new[] { "echo", "ping" })
                state.Append($"--- console {vm}:\n{await ConsoleAsync(ctl, vm)}\n");
            for (var i = 0; i < 2; i++)
            {
                using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/bin/sh",
                    ["-c", $"ip -n {_net!.Namespace(i)} -d link; bridge -n {_net.Namespace(i)} fdb show; ip netns exec {_net.Namespace(i)} nft list ruleset 2>&1"])
                    { RedirectStandardOutput = true })!;
                state.Append($"--- host {i}:\n{await p.StandardOutput.ReadToEndAsync()}\n");
                await p.WaitForExitAsync();
            }
            throw new Xunit.Sdk.XunitException($"{e.Message}\n{state}");
        }
    }

    /// <summary>Migrates the echo guest once it runs (on a loaded machine a host may fence-pause its guests for a moment
    /// when heartbeats come late: a paused VM is not migrated).</summary>
    private static async Task MigrateAsync(ClusterVmctl ctl, string to)
    {
        await ClusterVmctl.Eventually(async () => (await ctl.ListAsync(0)).Single(v => v.GetProperty("id").GetString() == "echo")
            .GetProperty("status").GetString() == "Running", "the echo guest to run", 60);
        await ctl.Ok(0, "migrate", "echo", "--to", to, "--wait");
    }

    private readonly record struct PingFigures(long Sent, long Received, long MaxGapMs, long RecentGapMs);

    /// <summary>The pinger's progress lines so far (at least one: zeros before the first).</summary>
    private static List<PingFigures> Lines(string console) =>
        [new PingFigures(0, 0, 0, 0), .. Progress().Matches(console).Select(m =>
            new PingFigures(Field(m, "sent"), Field(m, "received"), Field(m, "gap"), Field(m, "recent")))];

    private static long Field(Match m, string name) => long.Parse(m.Groups[name].Value, CultureInfo.InvariantCulture);

    private static async Task<string> ConsoleAsync(ClusterVmctl ctl, string vm) => (await ctl.Run(0, "console", vm, "--bytes", "16384")).Stdout;

    private static async Task<string> HostOfAsync(ClusterVmctl ctl, string vm) =>
        (await ctl.ListAsync(0)).Single(v => v.GetProperty("id").GetString() == vm).GetProperty("node").GetString()!;

    [GeneratedRegex(@"ping progress sent=(?<sent>\d+) received=(?<received>\d+) max_gap_ms=(?<gap>\d+) recent_gap_ms=(?<recent>\d+)")]
    private static partial Regex Progress();

    [GeneratedRegex(@"mac=\S+ ip=(\S+)")]
    private static partial Regex NicAddress();

    public Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            node?.Kill();
            node?.Dispose();
        }
        _net?.Dispose();
        if (Directory.Exists(_data))
            Directory.Delete(_data, recursive: true);
        return Task.CompletedTask;
    }
}
