using System.Text.Json;
using Cluster.Contracts.Access;
using Cluster.Contracts.Networks;
using Cluster.Node.Tests.TestUtils;
using Cluster.Vmctl.Client;

namespace Cluster.Node.Tests.Clustering;

/// <summary>
/// Networks on a real cluster node (it seeds itself): the registry as a singleton, a VM's NIC assigned by the cluster
/// control before admission and freed when the VM is deleted, network commands for admins and reads for viewers.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ClusterNetworksTests : IAsyncLifetime
{
    private const string Address = "127.0.0.42";
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-networks", Guid.NewGuid().ToString("N"));
    private readonly int _port = ProcessRunner.FreePort();
    private NodeProcess? _node;

    private string Host => $"{Address}:{_port}";

    public async Task InitializeAsync() =>
        _node = await NodeProcess.StartAsync(ProcessRunner.DotnetExec(Executables.NodeDll,
        [
            "run", "--host", Address, "--port", $"{_port}", "--data", Path.Combine(_data, "n0"), "--backend", "emulated", "--seed", Host,
            "--journal", $"sqlite:{Path.Combine(_data, "journal.db")}", .. TestCa.NodeArgs,
        ]));

    public Task DisposeAsync()
    {
        NodeTeardown.Run([_node], "networks-", null, _data);
        return Task.CompletedTask;
    }

    private Task<ProcessResult> Vmctl(params string[] args) =>
        ProcessRunner.RunAsync(Executables.VmctlDll, TimeSpan.FromSeconds(60), ["--node", Host, .. NodeTokens.VmctlOptions(Host), "--timeout", "20", .. args]);

    [Fact]
    public async Task The_singleton_assigns_a_vms_nic_and_holds_the_network_until_the_vm_is_deleted()
    {
        await ClusterVmctl.Eventually(async () => (await Vmctl("network", "create", "ov", "--mode", "overlay", "--subnet", "10.66.0.0/24")).ExitCode == 0,
            "the network registry singleton to create a network", 60);
        var refused = await Vmctl("network", "create", "lan", "--mode", "nat", "--subnet", "10.66.0.0/23");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("overlaps network 'ov' (10.66.0.0/24)", refused.Stderr);

        var created = await Vmctl("create", "web", "--image", "hello", "--memory", "4M", "--nic", "network=ov,mac=52:54:00:aa:bb:cc");
        Assert.True(created.ExitCode == 0, created.Stderr);
        var nic = Assert.Single(JsonDocument.Parse((await Vmctl("--json", "show", "web")).Stdout).RootElement.GetProperty("nics").EnumerateArray());
        Assert.Equal(("52:54:00:aa:bb:cc", "10.66.0.2", 1450), (nic.GetProperty("mac").GetString(), nic.GetProperty("ip").GetString(), nic.GetProperty("mtu").GetInt32()));
        var taken = await Vmctl("create", "db", "--image", "hello", "--memory", "4M", "--nic", "network=ov,mac=52:54:00:aa:bb:cc");
        Assert.Equal(1, taken.ExitCode);
        Assert.Contains("is VM web's on network 'ov'", taken.Stderr);
        Assert.Contains("used by VM(s) web", (await Vmctl("network", "delete", "ov")).Stderr);

        var viewer = (await Vmctl("token", "create", "--role", "viewer", "--name", "net-viewer")).Stdout.Trim();
        await using (var asViewer = await NodeClient.ConnectAsync(Host, TimeSpan.FromSeconds(20), viewer, TestCa.Client))
        {
            Assert.Equal(["ov"], Assert.IsType<NetworkList>(await asViewer.AskAsync(ListNetworks.Instance)).Networks.Select(n => n.Spec.Name));
            Assert.Equal(Denial.Forbidden, Assert.IsType<AccessDenied>(await asViewer.AskAsync(new DeleteNetwork("ov"))).Reason);
        }

        Assert.Equal(0, (await Vmctl("delete", "web")).ExitCode);
        await ClusterVmctl.Eventually(async () => (await Vmctl("network", "delete", "ov")).ExitCode == 0, "ov to be free once web is deleted");
    }
}
