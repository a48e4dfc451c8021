using System.Diagnostics;
using Cluster.Actors.Networks;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Hosting;

/// <summary>
/// A guest's NIC end to end: a real node (its guests in VMM workers) in its own network namespace, a NAT network made with
/// vmctl, the built-in net guest's frames arriving on its tap on the network's bridge, and the network's host part taken
/// down once it is deleted.
/// </summary>
public sealed class NodeGuestNetworkTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-node-guestnet", Guid.NewGuid().ToString("N"));
    private readonly int _port = ProcessRunner.FreePort();

    [HostNetFact]
    public async Task A_guests_frames_reach_the_networks_bridge_its_tap_goes_with_it_and_a_deleted_network_leaves_the_host()
    {
        using var net = new NetworkNamespaces(1);
        var host = $"{net.Address(0)}:{_port}";
        using var node = await NodeProcess.StartAsync(net.Inside(0, ProcessRunner.DotnetExec(Executables.NodeDll,
            ["run", "--host", net.Address(0), "--port", $"{_port}", "--data", _data, "--backend", "emulated", .. TestCa.NodeArgs])));
        Task<ProcessResult> Vmctl(params string[] args) =>
            ProcessRunner.RunAsync(Executables.VmctlDll, TimeSpan.FromSeconds(60), ["--node", host, .. NodeTokens.VmctlOptions(host), "--timeout", "20", .. args]);
        async Task<string> Ok(params string[] args)
        {
            var r = await Vmctl(args);
            Assert.True(r.ExitCode == 0, $"vmctl {string.Join(' ', args)} -> {r.ExitCode}\n{r.Stdout}\n{r.Stderr}\n{node.Output}");
            return r.Stdout;
        }

        await Ok("network", "create", "lan", "--mode", "nat", "--subnet", "10.213.0.0/24");
        await Ok("create", "g", "--image", "net", "--memory", "32M", "--arg", "send", "--arg", "5", "--arg", "64", "--nic", "network=lan", "--start");
        await SingleNodeVmctl.Eventually(async () => (await Vmctl("console", "g")).Stdout.Contains("send frames=5", StringComparison.Ordinal),
            "the guest to send its frames", 60);

        var tap = HostNetworking.TapName("g", 0, host);
        // The guest's broadcasts came through its tap, joined to the network's bridge, up to the bridge's host side.
        Assert.True(long.Parse(Sh($"ip netns exec {net.Namespace(0)} cat /sys/class/net/chv-lan/statistics/rx_packets").Trim()) >= 5,
            "the bridge received the guest's 5 frames");

        await SingleNodeVmctl.Eventually(async () => (await Vmctl("show", "g")).Stdout.Contains("Stopped", StringComparison.Ordinal), "the guest to end");
        // The guest ended here: its tap went with it; the network stays while a VM holds an address on it.
        await SingleNodeVmctl.Eventually(() => Task.FromResult(Try($"ip -n {net.Namespace(0)} link show dev {tap}") != 0), "the ended guest's tap to go");
        Assert.Equal(0, Try($"ip -n {net.Namespace(0)} link show dev chv-lan"));
        Assert.Equal(1, (await Vmctl("network", "delete", "lan")).ExitCode);
        await Ok("delete", "g");
        await SingleNodeVmctl.Eventually(async () => (await Vmctl("network", "delete", "lan")).ExitCode == 0, "lan to be free");
        await SingleNodeVmctl.Eventually(() => Task.FromResult(Try($"ip -n {net.Namespace(0)} link show dev chv-lan") != 0
            && Try($"ip -n {net.Namespace(0)} link show dev {tap}") != 0), "the host part to be taken down");
        node.Terminate(TimeSpan.FromSeconds(15));
    }

    private static string Sh(string command)
    {
        using var p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? output : throw new InvalidOperationException($"'{command}' failed ({p.ExitCode}): {error}");
    }

    private static int Try(string command)
    {
        using var p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command + " >/dev/null 2>&1"]))!;
        p.WaitForExit();
        return p.ExitCode;
    }

    public void Dispose()
    {
        if (Directory.Exists(_data))
            Directory.Delete(_data, recursive: true);
    }
}
