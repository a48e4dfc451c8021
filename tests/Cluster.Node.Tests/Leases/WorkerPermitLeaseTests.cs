using Akka.Actor;
using Akka.Configuration;
using Cluster.Actors.Hosting;
using Cluster.Actors.Leases;
using Cluster.Actors.Runtime.Workers;
using Cluster.Contracts.Vms;
using Cluster.Node.Tests.TestUtils;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Node.Tests.Leases;

/// <summary>
/// A real VMM worker's run permit never outlasts its node's host lease: with a 30 s permit and a 1.5 s lease, the guest is
/// paused (its permit lapsed) within about the lease's remaining time (a 3 s lease) once the journal's database goes away, and a lapsed
/// guest is not resumed while the lease is out; once the database is back and the lease held again, it is.
/// </summary>
public sealed class WorkerPermitLeaseTests : IDisposable
{
    private readonly string _data = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "permit-lease-" + Guid.NewGuid().ToString("N")[..10])).FullName;
    private readonly ActorSystem _system;

    public WorkerPermitLeaseTests()
    {
        var db = Path.Combine(_data, "db");
        _system = ActorSystem.Create("permit-lease", HypervisorConfig.Load(HypervisorConfig.DefaultHoconDirectory, db, ConfigurationFactory.ParseString(
            """
            akka.loglevel = WARNING
            cluster-hypervisor.lease { enabled = on, ttl = 3s, renew-every = 500ms, drift-margin = 100ms }
            """)));
    }

    private static VmSpec Counter(string id) =>
        new(id, id, 1, 16UL << 20, new BuiltInImage("counter"), [], new Dictionary<string, string>(), null, RestartPolicy.Never);

    [Fact]
    public async Task A_guest_is_paused_when_the_host_lease_runs_out_even_with_a_long_permit_and_not_resumed_before_it_holds_again()
    {
        var leases = HostLeases.Get(_system);
        _system.ActorOf(HostLeaseKeeper.Props("127.0.0.1:5100", 1));
        await Until(() => leases.View.RemainingNow > TimeSpan.Zero, TimeSpan.FromSeconds(30), "the host lease");

        using var hypervisor = HypervisorFactory.Create(BackendKind.Emulated, out _);
        var settings = new WorkerSettings(Path.Combine(_data, "run"), WarmPool: 0, Permit: TimeSpan.FromSeconds(30),
            RenewEvery: TimeSpan.FromMilliseconds(250), LaunchTimeout: TimeSpan.FromSeconds(60), CallTimeout: TimeSpan.FromSeconds(30),
            OrphanGrace: TimeSpan.FromMinutes(2), Cgroups: false, CgroupParent: "cluster-hypervisor-test", DetachOnShutdown: false)
        {
            HostLease = leases,
        };
        using var factory = new WorkerGuestRuntimeFactory(hypervisor, settings, ["dotnet", Executables.NodeDll], BackendKind.Emulated, _ => { });
        using var guest = factory.Create(Counter("leased"));
        var lapsed = 0;
        guest.PermitLapsed += () => Interlocked.Increment(ref lapsed);
        guest.Start();
        // Renewals under a held lease keep it running past the lease's ttl.
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.Equal(0, Volatile.Read(ref lapsed));

        var db = Path.Combine(_data, "db");
        Directory.Move(db, db + ".gone");
        try
        {
            // Held locally for at most 2.9 s after the last renewal; the worker checks its permit periodically.
            await Until(() => Volatile.Read(ref lapsed) > 0, TimeSpan.FromSeconds(10), "the guest's permit to lapse with the lease (a 30 s permit)");
            // No permit while the lease is out: a resume after the lapse does nothing.
            guest.ResumeAfterLapse();
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.Equal(1, Volatile.Read(ref lapsed));
        }
        finally
        {
            Directory.Move(db + ".gone", db);
        }
        await Until(() => leases.View.RemainingNow > TimeSpan.Zero, TimeSpan.FromSeconds(30), "the host lease again");
        guest.ResumeAfterLapse();
        // Running again under renewed permits: no new lapse past the lease's ttl.
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.Equal(1, Volatile.Read(ref lapsed));
    }

    private static async Task Until(Func<bool> condition, TimeSpan within, string what)
    {
        var deadline = DateTime.UtcNow + within;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    public void Dispose()
    {
        _system.Terminate().Wait(TimeSpan.FromSeconds(10));
        try { Directory.Delete(_data, recursive: true); }
        catch (IOException) { }
    }
}
