using System.Net;
using Cluster.Vmm.Migration;
using Cluster.Vmm.Tests.Migration;
using Cluster.Vmm.Tests.TestUtils;
using Cluster.Vmm.Worker;
using Xunit;

namespace Cluster.Vmm.Tests.Worker;

public class WorkerMigrationTests
{
    [Fact]
    public async Task A_running_guest_migrates_between_two_workers_with_the_commit_round_trip()
    {
        using var sourceRig = new WorkerRig("src");
        using var targetRig = new WorkerRig("dst", directory: sourceRig.Directory);
        using var source = sourceRig.Connect();
        using var target = targetRig.Connect();
        var sourceEvents = new WorkerRig.Events(source);
        var targetEvents = new WorkerRig.Events(target);
        var create = WorkerRig.Guest("counter");
        source.Create(create);
        source.Start();
        WorkerRig.WaitUntil(() => sourceEvents.Serial.Count > 0, "output on the source");

        var listen = target.ListenIncoming(new WorkerIncoming("vm-1", 2, create.Machine));
        Assert.Equal(WorkerVmState.Incoming, target.Info().State);
        int commits = 0;
        var reports = new List<MigrationProgress>();
        var result = await source.MigrateOutAsync("127.0.0.1", listen.Port, listen.Credentials, new WorkerMigrationOptions { Mode = MigrationMode.PreCopy },
            new SyncProgress(reports), _ =>
            {
                Interlocked.Increment(ref commits);
                Assert.False(listen.Resumed.IsCompleted);
                return Task.CompletedTask;
            }).WaitAsync(WorkerRig.Timeout);

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.True(result.OwnershipMoved);
        Assert.True(result.ReadyAfter > TimeSpan.Zero, "the pause's split crosses the worker socket");
        Assert.True(result.Downtime >= result.ReadyAfter + result.CommitTime);
        Assert.Equal(1, commits);
        Assert.Contains(reports, r => r.Phase == MigrationPhase.Commit);
        await listen.Resumed.WaitAsync(WorkerRig.Timeout);
        var incoming = await listen.Finished.WaitAsync(WorkerRig.Timeout);
        Assert.True(incoming.Succeeded, incoming.FailureReason);
        Assert.True(incoming.PagesReceived > 0);

        Assert.Equal(WorkerVmState.MigratedAway, source.Info().State);
        Assert.Empty(sourceEvents.Exits);
        var info = target.Info();
        Assert.Equal((WorkerVmState.Running, "vm-1", 2L), (info.State, info.VmId, info.Epoch));
        WorkerRig.WaitUntil(() => targetEvents.Serial.Count > 0, "output on the target");
        int last = CounterLines.Parse(sourceEvents.Console().Text).Last();
        var text = targetEvents.Console().Text;
        var next = CounterLines.Parse(text[(text.IndexOf('\n') + 1)..]);
        Assert.True(next[0] > last, $"the target went on from {next[0]}, the source had reached {last}");
        Assert.Contains("cannot start the VM: it migrated", Assert.Throws<VmmException>(source.Start).Message);
        target.Pause();
        Assert.NotEmpty(target.SaveState());
    }

    [Fact]
    public async Task A_refused_commit_leaves_the_guest_running_on_the_source()
    {
        using var sourceRig = new WorkerRig("src");
        using var targetRig = new WorkerRig("dst", directory: sourceRig.Directory);
        using var source = sourceRig.Connect();
        using var target = targetRig.Connect();
        var create = WorkerRig.Guest("counter");
        source.Create(create);
        source.Start();

        var listen = target.ListenIncoming(new WorkerIncoming("vm-1", 2, create.Machine));
        var result = await source.MigrateOutAsync("127.0.0.1", listen.Port, listen.Credentials, new WorkerMigrationOptions { Mode = MigrationMode.PreCopy },
            null, _ => throw new InvalidOperationException("the journal said no")).WaitAsync(WorkerRig.Timeout);

        Assert.False(result.Succeeded);
        Assert.Contains("the journal said no", result.FailureReason);
        Assert.Equal(WorkerVmState.Running, source.Info().State);
        var incoming = await listen.Finished.WaitAsync(WorkerRig.Timeout);
        Assert.False(incoming.Succeeded);
        Assert.Equal(WorkerVmState.Empty, target.Info().State);
    }

    [Fact]
    public async Task A_migration_that_cannot_start_is_refused_and_leaves_the_guest_under_control()
    {
        using var rig = new WorkerRig();
        using var client = rig.Connect();
        client.Create(WorkerRig.Guest("counter"));
        client.Start();
        var e = await Assert.ThrowsAsync<VmmException>(() => client.MigrateOutAsync("127.0.0.1", 1, MigrationIdentity.Create().Credentials, new WorkerMigrationOptions { Connections = 0 },
            null, _ => Task.CompletedTask));
        Assert.Contains("cannot start the migration", e.Message);
        client.Pause();
        Assert.Equal(WorkerVmState.Paused, client.Info().State);
    }

    [Fact]
    public async Task A_cancelled_incoming_migration_leaves_the_worker_idle()
    {
        using var rig = new WorkerRig();
        using var client = rig.Connect();
        var listen = client.ListenIncoming(new WorkerIncoming("vm-1", 3, WorkerRig.Guest("counter").Machine));
        Assert.InRange(listen.Port, 1, 65535);
        client.IncomingCancel();
        var result = await listen.Finished.WaitAsync(WorkerRig.Timeout);
        Assert.False(result.Succeeded);
        await Assert.ThrowsAsync<VmmException>(() => listen.Resumed);
        var info = client.Info();
        Assert.Equal((WorkerVmState.Empty, (string?)null), (info.State, info.VmId));
        client.Create(WorkerRig.Guest("hello"));
    }

    /// <summary>Records reports on the reporting thread (Progress&lt;T&gt; would post them later).</summary>
    private sealed class SyncProgress(List<MigrationProgress> reports) : IProgress<MigrationProgress>
    {
        public void Report(MigrationProgress value)
        {
            lock (reports) reports.Add(value);
        }
    }

    [Fact]
    public async Task A_target_whose_resume_is_lost_after_the_commit_asks_its_client_and_resumes_the_guest_it_was_given()
    {
        using var sourceRig = new WorkerRig("src");
        using var targetRig = new WorkerRig("dst", directory: sourceRig.Directory);
        using var source = sourceRig.Connect();
        using var target = targetRig.Connect();
        var create = WorkerRig.Guest("counter");
        source.Create(create);
        source.Start();
        var listen = target.ListenIncoming(new WorkerIncoming("vm-1", 2, create.Machine));
        int asked = 0;
        // The node answers from the VM's journal, which has the commit.
        listen.ResolveCommit = () =>
        {
            Interlocked.Increment(ref asked);
            return Task.FromResult(true);
        };
        using var relay = new Relay(new IPEndPoint(IPAddress.Loopback, listen.Port));

        // The commit is written, then the connection between the hosts drops before Resume.
        var result = await source.MigrateOutAsync("127.0.0.1", relay.Endpoint.Port, listen.Credentials,
            new WorkerMigrationOptions { Mode = MigrationMode.PreCopy }, null, _ =>
            {
                relay.Dispose();
                return Task.CompletedTask;
            }).WaitAsync(WorkerRig.Timeout);

        Assert.True(result.OwnershipMoved, result.FailureReason);
        await listen.Resumed.WaitAsync(WorkerRig.Timeout);
        Assert.True((await listen.Finished.WaitAsync(WorkerRig.Timeout)).Succeeded);
        Assert.Equal(1, asked);
        Assert.Equal(WorkerVmState.Running, target.Info().State);
        Assert.Equal(WorkerVmState.MigratedAway, source.Info().State);
    }

    [Fact]
    public async Task A_target_whose_source_is_lost_before_the_commit_frees_its_copy_when_its_client_says_not_committed()
    {
        using var sourceRig = new WorkerRig("src");
        using var targetRig = new WorkerRig("dst", directory: sourceRig.Directory);
        using var source = sourceRig.Connect();
        using var target = targetRig.Connect();
        var create = WorkerRig.Guest("counter");
        source.Create(create);
        source.Start();
        var listen = target.ListenIncoming(new WorkerIncoming("vm-1", 2, create.Machine));
        int asked = 0;
        // The node answers from the VM's journal, which has the migration's failure.
        listen.ResolveCommit = () =>
        {
            Interlocked.Increment(ref asked);
            return Task.FromResult(false);
        };
        using var relay = new Relay(new IPEndPoint(IPAddress.Loopback, listen.Port));

        var result = await source.MigrateOutAsync("127.0.0.1", relay.Endpoint.Port, listen.Credentials,
            new WorkerMigrationOptions { Mode = MigrationMode.PreCopy }, null, _ =>
            {
                relay.Dispose();
                throw new InvalidOperationException("the journal said no");
            }).WaitAsync(WorkerRig.Timeout);

        Assert.False(result.OwnershipMoved);
        Assert.Equal(WorkerVmState.Running, source.Info().State);
        Assert.False((await listen.Finished.WaitAsync(WorkerRig.Timeout)).Succeeded);
        Assert.Equal(1, asked);
    }
}
