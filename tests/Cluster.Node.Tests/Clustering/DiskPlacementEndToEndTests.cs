using System.Diagnostics;
using System.Text.Json;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Clustering;

/// <summary>
/// Two real hosts, one of which does not have the shared storage mounted: host 1 runs in its own mount namespace with an
/// empty tmpfs over the shared directory (as a host whose NFS mount is missing), so the same absolute path holds the image
/// on host 0 and nothing on host 1. Host 1 is the emptier, so capacity alone would choose it. Needs root (CI runs as root).
/// </summary>
public sealed class DiskPlacementEndToEndTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-disk-e2e", Guid.NewGuid().ToString("N"));
    private readonly int[] _ports = [ProcessRunner.FreePort(), ProcessRunner.FreePort()];
    private readonly List<NodeProcess> _nodes = [];

    private string Shared => Path.Combine(_data, "shared");

    private string Image => Path.Combine(Shared, "a.img");

    private string Host(int i) => $"127.0.0.1:{_ports[i]}";

    private ClusterVmctl Ctl => new(Host);

    public void Dispose()
    {
        foreach (var node in _nodes)
            node.Dispose();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task StartAsync()
    {
        Directory.CreateDirectory(Shared);
        await File.WriteAllBytesAsync(Image, new byte[1 << 20]);
        string config = Path.Combine(_data, "images.conf");
        await File.WriteAllTextAsync(config, $"cluster-hypervisor.images.allowed-dirs = [\"{Shared}\"]\n");
        var journal = $"sqlite:{Path.Combine(_data, "journal.db")}";
        _nodes.Add(await NodeProcess.StartAsync(_ports[0], Path.Combine(_data, "n0"),
            "--seed", Host(0), "--journal", journal, "--vcpus", "2", "--memory", "32M", "--rebalance", "off", "--config", config));
        var node = ProcessRunner.DotnetExec(Executables.NodeDll,
        [
            "run", "--port", $"{_ports[1]}", "--data", Path.Combine(_data, "n1"), "--backend", "emulated",
            "--seed", Host(0), "--journal", journal, "--vcpus", "4", "--memory", "64M", "--rebalance", "off", "--config", config, .. TestCa.NodeArgs,
        ]);
        var hidden = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--mount", "--propagation", "private", "sh", "-c", "mount -t tmpfs none \"$0\" && exec \"$@\"", Shared, "dotnet" })
            hidden.ArgumentList.Add(a);
        foreach (var a in node.ArgumentList)
            hidden.ArgumentList.Add(a);
        _nodes.Add(await NodeProcess.StartAsync(hidden));
        await ClusterVmctl.Eventually(async () =>
            JsonDocument.Parse((await Ctl.Ok(0, "--json", "nodes")).Stdout).RootElement.GetArrayLength() == 2, "two hosts");
    }

    [Fact]
    public async Task Places_a_vm_only_on_the_host_that_sees_its_image_and_refuses_a_namesake_naming_both_identities()
    {
        await StartAsync();
        Assert.False(File.Exists($"/proc/{_nodes[1].Pid}/root{Image}"));

        var created = await Ctl.Ok(1, "create", "d1", "--image", "counter", "--memory", "4M", "--disk", $"path={Image},format=raw", "--start");
        Assert.Contains($"on {Host(0)}", created.Stdout);

        string? identity = null;
        await ClusterVmctl.Eventually(async () =>
        {
            var disk = JsonDocument.Parse((await Ctl.Ok(0, "--json", "show", "d1")).Stdout).RootElement.GetProperty("disks")[0];
            identity = disk.GetProperty("identity").GetString();
            return identity is not null;
        }, "the disk's identity recorded", 60);
        Assert.Equal(identity, (await File.ReadAllTextAsync(Image + ".cluster-id")).Trim());
        Assert.Contains($"path={Image},format=raw (identity {identity})", (await Ctl.Ok(1, "show", "d1")).Stdout);

        var nowhere = $"/nowhere-{Guid.NewGuid():N}/x.img";
        var refused = await Ctl.Run(0, "create", "d2", "--image", "counter", "--memory", "4M", "--disk", nowhere);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"{Host(0)} does not see disk {nowhere}", refused.Stderr);
        Assert.Contains($"{Host(1)} does not see disk {nowhere}", refused.Stderr);

        // Host 1 gets a file of its own at the same path: a namesake, with another identity.
        var namesake = $"/proc/{_nodes[1].Pid}/root{Image}";
        var other = Guid.NewGuid().ToString("D");
        await File.WriteAllBytesAsync(namesake, new byte[1 << 20]);
        await File.WriteAllTextAsync(namesake + ".cluster-id", other + "\n");
        Assert.Equal(identity, (await File.ReadAllTextAsync(Image + ".cluster-id")).Trim());

        var moved = await Ctl.Run(0, "migrate", "d1", "--to", Host(1), "--wait");
        Assert.NotEqual(0, moved.ExitCode);
        var events = (await Ctl.Ok(0, "events", "d1")).Stdout;
        Assert.Contains(Image, events);
        Assert.Contains(identity!, events);
        Assert.Contains(other, events);
        var list = await Ctl.ListAsync(0);
        Assert.Equal(Host(0), Assert.Single(list, v => v.GetProperty("id").GetString() == "d1").GetProperty("node").GetString());
    }
}
