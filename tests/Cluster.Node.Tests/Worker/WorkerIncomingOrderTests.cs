using System.Diagnostics;
using Cluster.Actors.Runtime;
using Cluster.Actors.Runtime.Workers;
using Cluster.Contracts.Vms;
using Cluster.Node.Tests.TestUtils;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Migration;
using Xunit.Abstractions;

namespace Cluster.Node.Tests.Worker;

/// <summary>
/// An incoming migration into a VMM worker reports its outcome only after the host heard that the guest resumed. The worker
/// sends both at once; when the outcome overtook the resume, the migration receiver offered the VM actor no guest and the
/// VM was booted cold beside the migrated one (seen under load in DiskLiveMigrationTests: VmStarted "cold boot" right after
/// VmMigrationCompleted, then "is in use" on the image the migrated guest held).
/// </summary>
public sealed class WorkerIncomingOrderTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _data = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "worker-order-" + Guid.NewGuid().ToString("N")[..10])).FullName;

    private static VmSpec Counter(string id) =>
        new(id, id, 1, 16UL << 20, new BuiltInImage("counter"), [], new Dictionary<string, string>(), null, RestartPolicy.Never);

    [Fact]
    public async Task The_outcome_of_an_incoming_migration_completes_after_the_resume_callback_returned()
    {
        using var hypervisor = HypervisorFactory.Create(BackendKind.Emulated, out _);
        var settings = new WorkerSettings(Path.Combine(_data, "run"), WarmPool: 0, Permit: TimeSpan.FromSeconds(30),
            RenewEvery: TimeSpan.FromMilliseconds(250), LaunchTimeout: TimeSpan.FromSeconds(60), CallTimeout: TimeSpan.FromSeconds(30),
            OrphanGrace: TimeSpan.FromMinutes(2), Cgroups: false, CgroupParent: "cluster-hypervisor-test", DetachOnShutdown: false);
        using var factory = new WorkerGuestRuntimeFactory(hypervisor, settings, ["dotnet", Executables.NodeDll], BackendKind.Emulated, _ => { });
        using var source = factory.Create(Counter("order"));
        source.Start();

        IGuestRuntime? created = null;
        long resumeReturned = 0;
        // A resume callback that takes a while (a loaded host, a slow run log): the outcome must wait for it.
        var incoming = factory.ListenIncoming(Counter("order"), new IncomingListen("127.0.0.1", 0, 2, TimeSpan.FromSeconds(30),
            guest => created = guest,
            () =>
            {
                Thread.Sleep(400);
                Volatile.Write(ref resumeReturned, Stopwatch.GetTimestamp());
            },
            CancellationToken.None));
        try
        {
            var moved = await source.MigrateOutAsync(incoming.Endpoint, incoming.Credentials, new MigrationOptions { Mode = MigrationMode.PreCopy },
                new Progress<MigrationProgress>(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(120));
            Assert.True(moved.Succeeded, moved.FailureReason);
            var outcome = await incoming.Completion.WaitAsync(TimeSpan.FromSeconds(60));
            var completedAt = Stopwatch.GetTimestamp();
            Assert.True(outcome.Succeeded, outcome.FailureReason);
            var returned = Volatile.Read(ref resumeReturned);
            output.WriteLine($"resume callback returned {(returned == 0 ? "never" : $"{Stopwatch.GetElapsedTime(returned, completedAt).TotalMilliseconds:0.0} ms before the outcome was seen")}");
            Assert.True(returned != 0, "the outcome (a success) completed before the resume callback returned");
            Assert.NotNull(created);
        }
        finally
        {
            created?.Dispose();
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_data, recursive: true); }
        catch (IOException) { }
    }
}
