using System.Globalization;
using System.Text;
using Cluster.Actors.Clustering;
using Cluster.Actors.Runtime.Workers;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Vms;
using Cluster.Node.Tests.TestUtils;
using Cluster.Vmctl.Client;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Tests.Isolation;
using Xunit.Abstractions;

namespace Cluster.Node.Tests.Worker;

/// <summary>
/// A busy guest in a VMM worker is charged what its worker's cgroup accounted (CPU time of every thread, the working set),
/// and those figures are what its host reports and the rebalancer plans from. The guest is the unpaced dirtier over 32 MiB:
/// it keeps its vCPU busy writing every page of its working set.
/// </summary>
public sealed class CgroupAccountingTests(ITestOutputHelper output) : IDisposable
{
    private const ulong MiB = 1UL << 20;
    private const ulong TouchedBytes = 32 * MiB;

    private readonly string _data = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "cg-acct-" + Guid.NewGuid().ToString("N")[..10])).FullName;

    private static VmSpec Dirtier(string id) =>
        new(id, id, 1, 64 * MiB, new BuiltInImage("dirtier"), [$"{TouchedBytes / MiB}", "0"], new Dictionary<string, string>(), null,
            RestartPolicy.Never);

    [CgroupFact]
    public void A_busy_guest_is_charged_its_workers_cgroup_cpu_time_and_memory()
    {
        using var hypervisor = HypervisorFactory.Create(BackendKind.Emulated, out _);
        var settings = new WorkerSettings(Path.Combine(_data, "run"), WarmPool: 0, Permit: TimeSpan.FromSeconds(30),
            RenewEvery: TimeSpan.FromMilliseconds(250), LaunchTimeout: TimeSpan.FromSeconds(60), CallTimeout: TimeSpan.FromSeconds(30),
            OrphanGrace: TimeSpan.FromMinutes(2), Cgroups: true, CgroupParent: "cluster-hypervisor-test",
            DetachOnShutdown: false);
        using var factory = new WorkerGuestRuntimeFactory(hypervisor, settings, ["dotnet", Executables.NodeDll], BackendKind.Emulated, _ => { });
        using var guest = (WorkerGuestRuntime)factory.Create(Dirtier("busy"));
        Assert.NotNull(guest.Cgroup);
        var console = new StringBuilder();
        guest.SerialOutput += bytes => { lock (console) console.Append(Encoding.ASCII.GetString(bytes)); };
        var clocks = new GuestClocks();
        var run = clocks.Register("busy", guest);

        guest.Start();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!Passed(console, 2))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the dirtier printed no second pass: {console}");
            Thread.Sleep(50);
        }
        var (first, firstProcess) = (guest.Accounting!, ProcessCpu(guest.Pid));
        Thread.Sleep(2000);
        var (second, secondProcess) = (guest.Accounting!, ProcessCpu(guest.Pid));
        var sample = clocks.Sample("busy", run)!.Value;

        var grew = second.CpuTime!.Value - first.CpuTime!.Value;
        var processGrew = secondProcess - firstProcess;
        output.WriteLine($"cgroup CPU {first.CpuTime} -> {second.CpuTime} in 2 s (+{grew.TotalMilliseconds:0} ms; the worker's /proc stat " +
                         $"+{processGrew.TotalMilliseconds:0} ms; vCPU time in Run, wall clock, {guest.GuestTime}); working set {second.MemoryBytes / MiB} MiB " +
                         $"(charged {guest.Cgroup!.Usage().MemoryCurrentBytes / MiB} MiB, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");
        // The group's CPU time is its one process's, all threads (/proc counts in 10 ms ticks): about one core (its one vCPU
        // thread; the quota's extra half core is for the VMM's own threads, which use little of it).
        Assert.True(grew > TimeSpan.Zero, $"CPU time {first.CpuTime} -> {second.CpuTime}");
        Assert.InRange(grew.TotalMilliseconds, processGrew.TotalMilliseconds * 0.7 - 30, processGrew.TotalMilliseconds * 1.3 + 30);
        Assert.True(grew < TimeSpan.FromMilliseconds(2400), $"more than one vCPU and a little: {grew}");
        // The guest's touched pages and what the worker allocated since it joined its group (its start-up footprint stays
        // charged where it started), within the overhead budget of its memory limit.
        Assert.InRange(second.MemoryBytes, TouchedBytes, TouchedBytes + 168 * MiB);
        Assert.True(sample.Cpu(cgroup: true).Cpu >= second.CpuTime!.Value);
        Assert.Equal((sample.VcpuTime, sample.VcpuAt), sample.Cpu(cgroup: false));
        Assert.NotNull(sample.MemoryBytes);
    }

    [CgroupFact]
    public async Task A_hosts_report_and_the_rebalancer_carry_the_cgroup_figures_of_a_busy_guest()
    {
        var port = ProcessRunner.FreePort();
        var host = $"127.0.0.1:{port}";
        using var node = await NodeProcess.StartAsync(port, Path.Combine(_data, "node"), "--seed", host, "--journal",
            $"sqlite:{Path.Combine(_data, "journal.db")}", "--vcpus", "2", "--memory", "512M", "--rebalance", "recommend");
        var vmctl = new ClusterVmctl(_ => host);
        await vmctl.Ok(0, "create", "busy", "--image", "dirtier", "--memory", "64M", "--arg", $"{TouchedBytes / MiB}", "--arg", "0", "--start");
        await using var client = await NodeTokens.ConnectAsync(host, TimeSpan.FromSeconds(20));

        PlacedVm? busy = null;
        await ClusterVmctl.Eventually(async () =>
        {
            var hosts = (HostList)await client.AskAsync(ListHosts.Instance);
            busy = hosts.Hosts.SelectMany(h => h.Vms).FirstOrDefault(v => v.VmId == "busy");
            return busy is { CpuLoad: > 0, MemoryUsedBytes: >= TouchedBytes };
        }, "the host to report the busy guest's CPU load and its worker's memory", 120);
        output.WriteLine($"reported: CPU load {busy!.CpuLoad:0.00}, memory used {busy.MemoryUsedBytes / MiB} MiB of {busy.MemoryBytes / MiB} MiB");
        Assert.InRange(busy.MemoryUsedBytes!.Value, TouchedBytes, TouchedBytes + 168 * MiB);

        RebalanceStatus? status = null;
        await ClusterVmctl.Eventually(async () =>
        {
            status = (RebalanceStatus)await client.AskAsync(GetRebalanceStatus.Instance);
            return status.Hosts.Any(h => h.Host == host && h.Load > 0);
        }, "the rebalancer to count the busy guest's load", 60);
        output.WriteLine($"rebalancer: host load {status!.Hosts.Single(h => h.Host == host).Load:0.00}");
    }

    /// <summary>The user and system time of <paramref name="pid"/>, all threads (fields 14 and 15 of /proc/PID/stat, in clock ticks of 10 ms).</summary>
    private static TimeSpan ProcessCpu(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return TimeSpan.FromMilliseconds((long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10);
    }

    private static bool Passed(StringBuilder console, int passes)
    {
        lock (console)
            return console.ToString().Contains($"dirtier pass {passes}", StringComparison.Ordinal);
    }

    public void Dispose()
    {
        WorkerRecords.KillAll(_data);
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
