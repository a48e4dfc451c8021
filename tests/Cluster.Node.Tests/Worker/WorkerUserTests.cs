using System.Diagnostics;
using Cluster.Node.Tests.TestUtils;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Storage;
using Cluster.Vmm.Worker;

namespace Cluster.Node.Tests.Worker;

/// <summary>
/// A worker started by root with <c>--user nobody</c>: it drops to uid 65534 before it serves, runs the blk guest on a disk
/// it could not open itself (a root-owned 0600 file in a 0700 folder) through the file the node passed, accepts only the
/// node's uid, and still removes its own files when shut down.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public abstract class WorkerUserTestsBase : IDisposable
{
    private const uint Nobody = 65534;
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>The worker program under test (the launcher appends "vmm serve ...").</summary>
    protected abstract IReadOnlyList<string> Command { get; }

    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "wu-" + Guid.NewGuid().ToString("N")[..10])).FullName;
    private readonly string _disks = Directory.CreateTempSubdirectory("wu-disks-").FullName;
    private readonly List<WorkerLaunch> _workers = [];

    private WorkerLaunch Launch(string name, BackendKind backend = BackendKind.Emulated)
    {
        var launch = WorkerLauncher.Launch(Command, _dir, name, backend, Timeout, user: "nobody");
        _workers.Add(launch);
        return launch;
    }

    /// <summary>The real, effective, saved and file-system ids of a "Uid:" or "Gid:" line of /proc/PID/status, and its groups.</summary>
    private static (string Uid, string Gid, string Groups) IdsOf(int pid)
    {
        var lines = File.ReadAllLines($"/proc/{pid}/status");
        string Field(string key) => lines.Single(l => l.StartsWith(key, StringComparison.Ordinal))[key.Length..].Trim();
        return (Field("Uid:"), Field("Gid:"), Field("Groups:"));
    }

    protected void A_worker_runs_as_its_user_and_its_guest_uses_a_disk_only_the_node_can_openCase()
    {
        string image = Path.Combine(_disks, "private.img");
        DiskImage.Create(image, DiskFormat.Raw, 4UL << 20);
        File.SetUnixFileMode(image, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.SetUnixFileMode(_disks, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var worker = Launch("nobody-blk");
        Assert.Equal(($"{Nobody}\t{Nobody}\t{Nobody}\t{Nobody}", $"{Nobody}\t{Nobody}\t{Nobody}\t{Nobody}", ""), IdsOf(worker.Pid));

        var exits = new List<MachineExit>();
        var console = new System.Text.StringBuilder();
        var client = worker.Client;
        client.Exited += e => { lock (exits) exits.Add(e); };
        client.SerialOutput += (_, bytes) => { lock (console) console.Append(System.Text.Encoding.ASCII.GetString(bytes)); };
        var machine = new MachineConfig
        {
            MemoryBytes = 32UL << 20, Image = new BuiltInGuestImage("blk"), Args = "pattern 5 64 check 5 64".Split(' '),
            Disks = [new DiskConfig(image, DiskFormat.Raw)],
        };
        using (var passed = PassedDisks.Open(machine))
            client.Create(new WorkerCreate("vm-u", 1, passed.Config));
        client.Start();
        var deadline = DateTime.UtcNow + Timeout;
        while (exits.Count == 0 && DateTime.UtcNow < deadline) Thread.Sleep(10);

        lock (console) Assert.True(exits.Count == 1 && exits[0].ExitStatus == 0, console.ToString());
        Assert.True(File.ReadAllBytes(image).AsSpan(0, 64 * 512).IndexOfAnyExcept((byte)0) >= 0, "the guest's pattern is not in the image");
        client.Shutdown();
        Assert.True(worker.Process.WaitForExit(Timeout));
        Assert.Equal(0, worker.Process.ExitCode);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    protected void A_worker_of_another_user_runs_its_guest_on_the_kvm_device_the_node_passesCase()
    {
        var worker = Launch("nobody-kvm", BackendKind.Kvm);
        Assert.StartsWith($"{Nobody}\t", IdsOf(worker.Pid).Uid);
        var exits = new List<MachineExit>();
        worker.Client.Exited += e => { lock (exits) exits.Add(e); };
        var create = new WorkerCreate("vm-k", 1, new MachineConfig { MemoryBytes = 16UL << 20, Image = new BuiltInGuestImage("hello"), Args = ["exit=6"] });
        Assert.Contains("no /dev/kvm yet", Assert.Throws<Cluster.Vmm.VmmException>(() => worker.Client.Create(create)).Message);

        using (var kvm = PassedKvm.OpenDevice())
            worker.Client.Create(create with { Kvm = kvm });
        worker.Client.Start();
        var deadline = DateTime.UtcNow + Timeout;
        while (exits.Count == 0 && DateTime.UtcNow < deadline) Thread.Sleep(10);

        Assert.Equal(6, Assert.Single(exits).ExitStatus);
    }

    protected void A_peer_of_the_workers_own_uid_is_refused_when_the_node_is_rootCase()
    {
        var worker = Launch("nobody-peer");
        var probe = new ProcessStartInfo("setpriv")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { $"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "/usr/bin/python3", "-c",
                     "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\nb=b''\nwhile True:\n c=s.recv(4096)\n if not c: break\n b+=c\nprint(b[13:].decode('utf-8','replace'))",
                     worker.SocketPath })
            probe.ArgumentList.Add(a);
        using var process = Process.Start(probe)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(Timeout));

        Assert.True(process.ExitCode == 0, stderr.Result);
        Assert.Contains($"refused: uid {Nobody}", stdout.Result);
        Assert.Contains("is not uid 0", stdout.Result);
        Assert.Equal(Cluster.Vmm.Worker.WorkerVmState.Empty, worker.Client.Info().State);
    }

    public void Dispose()
    {
        WorkerLaunches.KillAll(_workers, Timeout);
        foreach (var dir in new[] { _dir, _disks })
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
        }
    }
}

/// <summary>The cases with the JIT-compiled <c>cluster-node vmm serve</c>.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class WorkerUserTests : WorkerUserTestsBase
{
    protected override IReadOnlyList<string> Command => ["dotnet", Executables.NodeDll];

    [RootFact]
    public void A_worker_runs_as_its_user_and_its_guest_uses_a_disk_only_the_node_can_open() => A_worker_runs_as_its_user_and_its_guest_uses_a_disk_only_the_node_can_openCase();

    [RootFact(Kvm = true)]
    public void A_worker_of_another_user_runs_its_guest_on_the_kvm_device_the_node_passes() => A_worker_of_another_user_runs_its_guest_on_the_kvm_device_the_node_passesCase();

    [RootFact]
    public void A_peer_of_the_workers_own_uid_is_refused_when_the_node_is_root() => A_peer_of_the_workers_own_uid_is_refused_when_the_node_is_rootCase();
}

/// <summary>The same cases with the NativeAOT <c>vmm-worker</c>: the user switch, SO_PEERCRED and the descriptors passed by SCM_RIGHTS in the native program.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AotWorkerUserTests : WorkerUserTestsBase
{
    protected override IReadOnlyList<string> Command => [Executables.AotWorker!];

    [AotWorkerFact(Root = true)]
    public void A_worker_runs_as_its_user_and_its_guest_uses_a_disk_only_the_node_can_open() => A_worker_runs_as_its_user_and_its_guest_uses_a_disk_only_the_node_can_openCase();

    [AotWorkerFact(Root = true, Kvm = true)]
    public void A_worker_of_another_user_runs_its_guest_on_the_kvm_device_the_node_passes() => A_worker_of_another_user_runs_its_guest_on_the_kvm_device_the_node_passesCase();

    [AotWorkerFact(Root = true)]
    public void A_peer_of_the_workers_own_uid_is_refused_when_the_node_is_root() => A_peer_of_the_workers_own_uid_is_refused_when_the_node_is_rootCase();
}
