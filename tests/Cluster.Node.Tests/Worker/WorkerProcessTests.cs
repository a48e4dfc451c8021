using System.Diagnostics;
using System.Text;
using Cluster.Node.Tests.TestUtils;
using Cluster.Vmm;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Cluster.Vmm.Worker;

namespace Cluster.Node.Tests.Worker;

/// <summary>Real <c>cluster-node vmm serve</c> worker processes, started with <see cref="WorkerLauncher"/> on the emulator.</summary>
public abstract class WorkerProcessTestsBase : IDisposable
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>The worker program under test (the launcher appends "vmm serve ...").</summary>
    protected abstract IReadOnlyList<string> Command { get; }

    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "wp-" + Guid.NewGuid().ToString("N")[..10])).FullName;
    private readonly List<WorkerLaunch> _workers = [];

    private WorkerLaunch Launch(string name, string? runLog = null)
    {
        var launch = WorkerLauncher.Launch(Command, _dir, name, BackendKind.Emulated, Timeout, runLog: runLog);
        _workers.Add(launch);
        return launch;
    }

    private static WorkerCreate Guest(string name, params string[] args) =>
        new("vm-p", 7, new MachineConfig { MemoryBytes = 16UL << 20, Image = new BuiltInGuestImage(name), Args = args });

    private static void WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            Thread.Sleep(10);
        }
    }

    /// <summary>The session id of a process (field 6 of /proc/PID/stat).</summary>
    private static int SessionOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[3], System.Globalization.CultureInfo.InvariantCulture);
    }

    protected void A_worker_leads_its_own_session_runs_a_guest_survives_its_client_and_exits_0_on_shutdownCase()
    {
        var worker = Launch("one");
        Assert.Equal(worker.Pid, SessionOf(worker.Pid));
        Assert.NotEqual(SessionOf(Environment.ProcessId), SessionOf(worker.Pid));
        var record = Assert.Single(WorkerDirectory.Scan(_dir));
        Assert.Equal((worker.Pid, "one", WorkerVmState.Empty), (record.Pid, record.Name, record.State));

        var exits = new List<MachineExit>();
        using (var client = worker.Client)
        {
            client.Exited += e => { lock (exits) exits.Add(e); };
            client.Create(Guest("hello", "exit=5"));
            client.Start();
            WaitUntil(() => { lock (exits) return exits.Count == 1; }, "the guest's exit");
        }
        Assert.Equal(5, exits[0].ExitStatus);

        using var again = WorkerClient.Connect(worker.SocketPath, Timeout);
        var info = again.Info();
        Assert.Equal((WorkerVmState.Finished, "vm-p", 7L, worker.Pid), (info.State, info.VmId, info.Epoch, info.Pid));
        Assert.Contains("Hello from the guest!", Encoding.ASCII.GetString(info.ConsoleHistory));
        Assert.Equal(WorkerVmState.Finished, Assert.Single(WorkerDirectory.Scan(_dir)).State);

        again.Shutdown();
        Assert.True(worker.Process.WaitForExit(Timeout));
        Assert.Equal(0, worker.Process.ExitCode);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    protected void A_killed_worker_disconnects_its_client_once_and_its_record_is_found_staleCase()
    {
        var worker = Launch("doomed");
        int disconnects = 0;
        worker.Client.Disconnected += _ => Interlocked.Increment(ref disconnects);
        worker.Client.Create(Guest("counter"));
        worker.Client.Start();
        worker.Process.Kill();
        Assert.True(worker.Process.WaitForExit(Timeout));
        WaitUntil(() => Volatile.Read(ref disconnects) == 1, "the disconnection");
        Assert.Contains("is gone", Assert.Throws<VmmException>(() => worker.Client.Info()).Message);
        Assert.Empty(WorkerDirectory.Scan(_dir));
        // Only its log stays, for whoever looks into why it died.
        Assert.Equal([Path.Combine(_dir, "doomed.log")], Directory.GetFiles(_dir));
        Assert.Equal(1, Volatile.Read(ref disconnects));
    }

    protected async Task A_running_guest_migrates_from_one_worker_process_to_anotherCase()
    {
        // Both workers append to one run log: where the guest really ran, each process by its own clock reading.
        var runLog = Path.Combine(_dir, "runs.vmm");
        var source = Launch("src", runLog);
        var target = Launch("dst", runLog);
        var create = Guest("counter");
        source.Client.Create(create);
        source.Client.Start();

        var listen = target.Client.ListenIncoming(new WorkerIncoming("vm-p", 8, create.Machine));
        bool committed = false;
        var result = await source.Client.MigrateOutAsync("127.0.0.1", listen.Port, listen.Credentials, new WorkerMigrationOptions { Mode = MigrationMode.PreCopy },
            null, _ => { committed = true; return Task.CompletedTask; }).WaitAsync(Timeout);

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.True(committed);
        var incoming = await listen.Finished.WaitAsync(Timeout);
        Assert.True(incoming.Succeeded, incoming.FailureReason);
        Assert.Equal(WorkerVmState.MigratedAway, source.Client.Info().State);
        var info = target.Client.Info();
        Assert.Equal((WorkerVmState.Running, 8L), (info.State, info.Epoch));
        long end = info.ConsoleEnd;
        WaitUntil(() => target.Client.Info().ConsoleEnd > end, "the guest's output on the target");

        // The run log: the source ran (epoch 7) and stopped at the stop-and-copy before the target (epoch 8) started, and
        // the target runs on (no end). Lines: "VM start|end NS EPOCH PID".
        var lines = File.ReadAllLines(runLog).Select(l => l.Split(' ')).ToList();
        Assert.All(lines, l => Assert.Equal("vm-p", l[0]));
        var bySource = lines.Where(l => l[4] == source.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var byTarget = lines.Where(l => l[4] == target.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(bySource is [["vm-p", "start", _, "7", _], .., ["vm-p", "end", _, "7", _]], string.Join('\n', lines.Select(l => string.Join(' ', l))));
        Assert.True(byTarget is [["vm-p", "start", _, "8", _]], string.Join('\n', lines.Select(l => string.Join(' ', l))));
        // The source's last run (its last start to the first end after it: the stop-and-copy; the machine's disposal
        // writes another end) is over before the target's run begins.
        static long Ns(string[] line) => long.Parse(line[2], System.Globalization.CultureInfo.InvariantCulture);
        var lastStart = bySource.FindLastIndex(l => l[1] == "start");
        var stopped = bySource.Skip(lastStart + 1).First(l => l[1] == "end");
        Assert.True(Ns(stopped) <= Ns(byTarget[0]), $"the target started {Ns(stopped) - Ns(byTarget[0])} ns before the source stopped");
    }

    public void Dispose()
    {
        WorkerLaunches.KillAll(_workers, Timeout);
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>The cases with the JIT-compiled <c>cluster-node vmm serve</c> (the fallback where no published worker is there).</summary>
public sealed class WorkerProcessTests : WorkerProcessTestsBase
{
    protected override IReadOnlyList<string> Command => ["dotnet", Executables.NodeDll];

    [Fact]
    public void A_worker_leads_its_own_session_runs_a_guest_survives_its_client_and_exits_0_on_shutdown() => A_worker_leads_its_own_session_runs_a_guest_survives_its_client_and_exits_0_on_shutdownCase();

    [Fact]
    public void A_killed_worker_disconnects_its_client_once_and_its_record_is_found_stale() => A_killed_worker_disconnects_its_client_once_and_its_record_is_found_staleCase();

    [Fact]
    public Task A_running_guest_migrates_from_one_worker_process_to_another() => A_running_guest_migrates_from_one_worker_process_to_anotherCase();
}

/// <summary>The same cases with the NativeAOT <c>vmm-worker</c> that nodes start by default.</summary>
public sealed class AotWorkerProcessTests : WorkerProcessTestsBase
{
    protected override IReadOnlyList<string> Command => [Executables.AotWorker!];

    [AotWorkerFact]
    public void A_worker_leads_its_own_session_runs_a_guest_survives_its_client_and_exits_0_on_shutdown() => A_worker_leads_its_own_session_runs_a_guest_survives_its_client_and_exits_0_on_shutdownCase();

    [AotWorkerFact]
    public void A_killed_worker_disconnects_its_client_once_and_its_record_is_found_stale() => A_killed_worker_disconnects_its_client_once_and_its_record_is_found_staleCase();

    [AotWorkerFact]
    public Task A_running_guest_migrates_from_one_worker_process_to_another() => A_running_guest_migrates_from_one_worker_process_to_anotherCase();
}
