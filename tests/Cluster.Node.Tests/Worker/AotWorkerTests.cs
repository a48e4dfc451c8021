using System.Text;
using Cluster.Node.Tests.TestUtils;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Worker;

namespace Cluster.Node.Tests.Worker;

/// <summary>
/// The NativeAOT worker (vmm-worker-aot/vmm-worker, what nodes start by default) runs guests to their console output with no
/// .NET runtime in the process: the guest's serial output streams to the client, stats answer, and pause and resume work.
/// </summary>
public sealed class AotWorkerTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "aotw-" + Guid.NewGuid().ToString("N")[..10])).FullName;
    private readonly List<WorkerLaunch> _workers = [];

    private WorkerLaunch Launch(string name)
    {
        var launch = WorkerLauncher.Launch([Executables.AotWorker!], _dir, name, BackendKind.Emulated, Timeout);
        _workers.Add(launch);
        return launch;
    }

    private static void WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            Thread.Sleep(10);
        }
    }

    [AotWorkerFact]
    public void A_guest_runs_to_its_console_output_in_the_native_worker_which_maps_no_dotnet_runtime()
    {
        var worker = Launch("aot-hello");
        var maps = File.ReadAllText($"/proc/{worker.Pid}/maps");
        Assert.Contains(Executables.AotWorker!, maps);
        Assert.DoesNotContain("libcoreclr.so", maps);
        Assert.DoesNotContain("libclrjit.so", maps);

        var console = new StringBuilder();
        var exits = new List<MachineExit>();
        var client = worker.Client;
        client.SerialOutput += (_, bytes) => { lock (console) console.Append(Encoding.ASCII.GetString(bytes)); };
        client.Exited += e => { lock (exits) exits.Add(e); };
        client.Create(new WorkerCreate("vm-aot", 3, new MachineConfig { MemoryBytes = 16UL << 20, Image = new BuiltInGuestImage("hello"), Args = ["exit=3"] }));
        client.Start();
        WaitUntil(() => { lock (exits) return exits.Count == 1; }, "the guest's exit");
        WaitUntil(() => { lock (console) return console.ToString().Contains("Hello from the guest!", StringComparison.Ordinal); }, "the guest's greeting");

        Assert.Equal(3, exits[0].ExitStatus);
        var stats = client.Stats();
        Assert.Equal(WorkerVmState.Finished, stats.State);
        Assert.True(stats.RssBytes > 0, $"RSS {stats.RssBytes}");
        var record = Assert.Single(WorkerDirectory.Scan(_dir));
        Assert.Equal(("vm-aot", 3L, WorkerVmState.Finished), (record.VmId, record.Epoch, record.State));
        client.Shutdown();
        Assert.True(worker.Process.WaitForExit(Timeout));
        Assert.Equal(0, worker.Process.ExitCode);
    }

    [AotWorkerFact]
    public void A_running_guest_in_the_native_worker_pauses_and_resumes_and_keeps_streaming_its_console()
    {
        var worker = Launch("aot-counter");
        long streamed = 0;
        var client = worker.Client;
        client.SerialOutput += (_, bytes) => Interlocked.Add(ref streamed, bytes.Length);
        client.Create(new WorkerCreate("vm-aot", 1, new MachineConfig { MemoryBytes = 16UL << 20, Image = new BuiltInGuestImage("counter") }));
        client.Start();
        WaitUntil(() => Interlocked.Read(ref streamed) > 100, "the counter's output");

        client.Pause();
        Assert.Equal(WorkerVmState.Paused, client.Info().State);
        long paused = client.Info().ConsoleEnd;
        Thread.Sleep(200);
        Assert.Equal(paused, client.Info().ConsoleEnd);

        client.Resume();
        WaitUntil(() => client.Info().ConsoleEnd > paused, "output after the resume");
        var stats = client.Stats();
        Assert.Equal(WorkerVmState.Running, stats.State);
        Assert.True(stats.GuestCpuTime > TimeSpan.Zero, $"guest CPU {stats.GuestCpuTime}");
        WaitUntil(() => Interlocked.Read(ref streamed) >= paused, "the stream to catch up with the console");
    }

    public void Dispose()
    {
        WorkerLaunches.KillAll(_workers, Timeout);
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}
