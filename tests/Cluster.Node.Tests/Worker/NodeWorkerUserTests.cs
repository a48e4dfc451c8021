using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Worker;

/// <summary>
/// A node running as root with <c>cluster-hypervisor.vmm.worker-user = nobody</c>: its VM's worker runs as uid 65534 and
/// the guest writes and reads a disk image only root can open, through the file its node passed.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class NodeWorkerUserTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-node-wuser", Guid.NewGuid().ToString("N"));
    private readonly string _disks = Directory.CreateTempSubdirectory("wuser-disks-").FullName;
    private readonly int _port = ProcessRunner.FreePort();

    [RootFact]
    public async Task A_node_as_root_runs_its_guest_in_a_worker_of_the_configured_user_on_a_disk_only_root_can_open()
    {
        Directory.CreateDirectory(_data);
        string config = Path.Combine(_data, "node.conf");
        await File.WriteAllTextAsync(config, $"cluster-hypervisor.vmm.worker-user = \"nobody\"\ncluster-hypervisor.images.allowed-dirs = [\"{_disks}\"]\n");
        string image = Path.Combine(_disks, "root-only.img");
        Cluster.Vmm.Storage.DiskImage.Create(image, Cluster.Vmm.Storage.DiskFormat.Raw, 4UL << 20);
        File.SetUnixFileMode(image, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.SetUnixFileMode(_disks, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var vmctl = new SingleNodeVmctl(_port, timeoutSeconds: 15);

        using var node = await NodeProcess.StartAsync(_port, _data, "--config", config);
        await vmctl.Ok("create", "u", "--image", "blk", "--memory", "32M", "--disk", $"path={image},format=raw",
            "--arg", "pattern", "--arg", "5", "--arg", "64", "--arg", "check", "--arg", "5", "--arg", "64",
            // then it goes on writing far from the pattern, so that its worker is still there to be looked at
            "--arg", "start=2048", "--arg", "gap_us=1000", "--arg", "seq", "--arg", "0", "--start");
        await SingleNodeVmctl.Eventually(async () => (await vmctl.Ok("console", "u")).Stdout.Contains("check seed=5 start=0 sectors=64", StringComparison.Ordinal),
            "the guest to check what it wrote", 60);

        int pid = WorkerRecords.Of(_data)["u"];
        var uid = File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        Assert.Equal("Uid:\t65534\t65534\t65534\t65534", uid);
        Assert.True(File.ReadAllBytes(image).AsSpan(0, 64 * 512).IndexOfAnyExcept((byte)0) >= 0, "the guest's pattern is not in the image");
    }

    public void Dispose()
    {
        WorkerRecords.KillAll(_data);
        foreach (var dir in new[] { _data, _disks })
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
        }
    }
}
