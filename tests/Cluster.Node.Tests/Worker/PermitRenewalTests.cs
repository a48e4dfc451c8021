using System.Diagnostics;
using Cluster.Actors.Runtime.Workers;
using Cluster.Contracts.Vms;
using Cluster.Node.Tests.TestUtils;
using Cluster.Vmm;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Worker;
using Xunit.Abstractions;

namespace Cluster.Node.Tests.Worker;

/// <summary>
/// The node renews every worker guest's run permit from one timer, without waiting for the replies
/// (<see cref="PermitRenewals"/>): many guests under a short permit all keep running, and a guest the node no longer holds is
/// no longer renewed, so its worker pauses it once its permit lapses (the run-permit guarantee).
/// </summary>
public sealed class PermitRenewalTests(ITestOutputHelper output) : IDisposable
{
    private const int Guests = 8;
    private static readonly TimeSpan Permit = TimeSpan.FromSeconds(2);

    private readonly string _data = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "permit-renew-" + Guid.NewGuid().ToString("N")[..10])).FullName;

    /// <summary>The idle timer guest (a PIT interrupt about each millisecond, halted in between) printing a line every 100 interrupts.</summary>
    private static VmSpec Ticking(string id) =>
        new(id, id, 1, 2UL << 20, new BuiltInImage("timer"), ["4000000000", "100"], new Dictionary<string, string>(), null, RestartPolicy.Never);

    [Fact]
    public void Many_guests_keep_running_under_a_short_permit_and_one_no_longer_held_is_paused_when_its_permit_lapses()
    {
        using var hypervisor = HypervisorFactory.Create(BackendKind.Emulated, out _);
        var run = Path.Combine(_data, "run");
        var settings = new WorkerSettings(run, WarmPool: 0, Permit: Permit, RenewEvery: TimeSpan.FromMilliseconds(100),
            LaunchTimeout: TimeSpan.FromSeconds(60), CallTimeout: TimeSpan.FromSeconds(30), OrphanGrace: TimeSpan.FromMinutes(2),
            Cgroups: false, CgroupParent: "cluster-hypervisor-test", DetachOnShutdown: false)
        { StatsEvery = TimeSpan.FromMilliseconds(200) };
        IReadOnlyList<string> command = Executables.AotWorker is { } aot ? [aot] : ["dotnet", Executables.NodeDll];
        using var factory = new WorkerGuestRuntimeFactory(hypervisor, settings, command, BackendKind.Emulated, _ => { });
        var guests = new List<WorkerGuestRuntime>();
        int? released = null;
        try
        {
            var lapses = new int[Guests];
            var lastOutput = new long[Guests];
            for (var i = 0; i < Guests; i++)
            {
                var guest = (WorkerGuestRuntime)factory.Create(Ticking($"renewed-{i}"));
                var index = i;
                guest.PermitLapsed += () => Interlocked.Increment(ref lapses[index]);
                guest.SerialOutput += _ => Volatile.Write(ref lastOutput[index], Stopwatch.GetTimestamp());
                guest.Start();
                guests.Add(guest);
            }
            Assert.Equal(Guests, factory.RenewedGuests);

            // Three permits long: a guest whose renewals stopped would have been paused (silent) for over a permit by the end.
            Thread.Sleep(Permit * 3);
            var now = Stopwatch.GetTimestamp();
            var silent = lastOutput.Select(t => t == 0 ? TimeSpan.MaxValue : Stopwatch.GetElapsedTime(t, now)).ToArray();
            var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            output.WriteLine($"last output ago: {string.Join(", ", silent.Select(t => t == TimeSpan.MaxValue ? "never" : $"{t.TotalMilliseconds:0} ms"))}; " +
                             $"lapses {string.Join(",", lapses)} (load {load})");
            Assert.All(lapses, n => Assert.Equal(0, n));
            Assert.All(silent, t => Assert.True(t < Permit, $"a guest printed nothing for {t}"));

            // The node lets one guest go (its connection closed, as a node that stops holding it): no more renewals for it, and
            // its worker pauses it once the permit lapses; the others go on.
            var gone = guests[0];
            released = gone.Pid;
            Assert.True(gone.Disconnect());
            Assert.Equal(Guests - 1, factory.RenewedGuests);
            var socket = WorkerDirectory.Scan(run).Single(r => r.Pid == gone.Pid).Socket;
            var deadline = Stopwatch.StartNew();
            WorkerInfo info;
            TimeSpan? leftAtRelease = null;
            while (true)
            {
                using (var client = WorkerClient.Connect(socket, TimeSpan.FromSeconds(30)))
                    info = client.Info();
                leftAtRelease ??= info.PermitRemaining;
                if (info.State == WorkerVmState.Paused || deadline.Elapsed > Permit * 10)
                    break;
                Thread.Sleep(200);
            }
            output.WriteLine($"the worker no longer renewed: {info.State}, permit lapsed {info.PermitLapsed} after {deadline.Elapsed.TotalSeconds:0.0} s " +
                             $"(permit left when let go {leftAtRelease?.TotalMilliseconds:0} ms)");
            Assert.Equal(WorkerVmState.Paused, info.State);
            Assert.True(info.PermitLapsed, "paused, but not by its permit's lapse");
            Assert.All(lapses.Skip(1), n => Assert.Equal(0, n));
        }
        finally
        {
            foreach (var guest in guests)
                guest.Dispose();
            if (released is { } pid && !WorkerProcesses.WaitForExit(pid, TimeSpan.Zero))
                WorkerProcesses.Kill(pid);
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_data, recursive: true); }
        catch (IOException) { }
    }
}
