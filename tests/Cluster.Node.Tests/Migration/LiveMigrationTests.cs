using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Migration;

/// <summary>
/// Live migration between real `cluster-node run` processes on loopback (SQLite journal in WAL mode shared by
/// them, or PostgreSQL when CLUSTER_PG_URL is set). The guest is the paced dirtier, which prints one numbered
/// line per pass over its working set, so its console shows whether the count went on without a gap or a
/// repeat; each host's run log shows where and when the vCPUs ran.
/// </summary>
public sealed partial class LiveMigrationTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-migration", Guid.NewGuid().ToString("N"));
    private readonly int[] _ports = [ProcessRunner.FreePort(), ProcessRunner.FreePort(), ProcessRunner.FreePort()];
    private readonly List<NodeProcess> _nodes = [];
    private PostgresScratch? _postgres;

    private string Host(int i) => $"127.0.0.1:{_ports[i]}";

    private string RunLog(int i) => Path.Combine(_data, $"run{i}.log");

    private ClusterVmctl Ctl => new(Host);

    private async Task StartClusterAsync(params string[] memories)
    {
        Directory.CreateDirectory(_data);
        if (Environment.GetEnvironmentVariable("CLUSTER_PG_URL") is { Length: > 0 } pg)
            _postgres = new PostgresScratch(pg);
        var journal = _postgres is not null ? $"postgres:{_postgres.ConnectionString}" : $"sqlite:{Path.Combine(_data, "journal.db")}";
        for (var i = 0; i < memories.Length; i++)
            _nodes.Add(await NodeProcess.StartAsync(_ports[i], Path.Combine(_data, $"n{i}"),
                "--seed", Host(0), "--journal", journal, "--vcpus", "2", "--memory", memories[i], "--rebalance", "off", "--run-log", RunLog(i)));
        await ClusterVmctl.Eventually(async () =>
            JsonDocument.Parse((await Ctl.Ok(0, "--json", "nodes")).Stdout).RootElement.GetArrayLength() == memories.Length,
            $"{memories.Length} hosts");
    }

    /// <summary>Creates and starts a dirtier VM (working set, MiB/s) and returns the index of its host.</summary>
    private async Task<int> CreateAsync(string id, string memory, int workingSetMib, int rateMibPerSecond)
    {
        var created = (await Ctl.Ok(0, "create", id, "--image", "dirtier", "--memory", memory,
            "--arg", workingSetMib.ToString(CultureInfo.InvariantCulture), "--arg", rateMibPerSecond.ToString(CultureInfo.InvariantCulture),
            "--start")).Stdout;
        var host = Enumerable.Range(0, _nodes.Count).Single(i => created.Contains($"on {Host(i)}", StringComparison.Ordinal));
        await ClusterVmctl.Eventually(async () => Passes(await ConsoleAsync(id)).Count >= 2, $"{id} printing");
        return host;
    }

    /// <summary>Where the VM runs and in which status; ("", "") while it is listed by no host (its entity is being handed over).</summary>
    private async Task<(string Node, string Status)> WhereAsync(string id)
    {
        var vms = (await Ctl.ListAsync(0)).Where(v => v.GetProperty("id").GetString() == id).ToList();
        return vms is [var vm] ? (vm.GetProperty("node").GetString()!, vm.GetProperty("status").GetString()!) : ("", "");
    }

    private async Task<string> ConsoleAsync(string id) =>
        Encoding.ASCII.GetString((await ClusterMessages.AskAsync<ConsoleOutput>(Host(0), new ConsoleTail(id, 60_000))).Data);

    private async Task<IReadOnlyList<VmEvent>> EventsAsync(string id) =>
        (await ClusterMessages.AskAsync<VmEventList>(Host(0), new GetVmEvents(id))).Events;

    private Task<MigrationAccepted> MigrateAsync(string id, int to, MigrationLimits? limits = null) =>
        ClusterMessages.AskAsync<MigrationAccepted>(Host(0), new MigrateVm(id, Host(to), limits ?? MigrationLimits.Default, MigrationCause.ByOperator));

    private async Task<MigrationInfo> FinishedAsync(string migrationId)
    {
        MigrationInfo? info = null;
        await ClusterVmctl.Eventually(async () =>
        {
            var list = await ClusterMessages.AskAsync<MigrationList>(Host(0), ListMigrations.Instance);
            info = list.Migrations.FirstOrDefault(m => m.MigrationId == migrationId);
            return info is { InProgress: false };
        }, $"migration {migrationId} to finish", 45);
        return info!;
    }

    [GeneratedRegex(@"dirtier pass (\d+)\n")]
    private static partial Regex PassLine();

    /// <summary>The pass numbers printed, in order (the first line of a tail may be cut, so it is left out).</summary>
    private static List<long> Passes(string console) =>
        [.. PassLine().Matches(console).Skip(1).Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];

    private static void AssertContinuous(List<long> passes, long mustInclude)
    {
        Assert.Contains(mustInclude, passes);
        for (var i = 1; i < passes.Count; i++)
            Assert.True(passes[i] == passes[i - 1] + 1, $"the count jumps from {passes[i - 1]} to {passes[i]}");
    }

    private List<RunInterval> Intervals(string id) =>
        [.. RunIntervals.Read([.. Enumerable.Range(0, _nodes.Count).Select(RunLog)], _ => long.MaxValue).Where(x => x.Vm == id)];

    [Fact]
    public async Task Moves_a_running_vm_there_by_pre_copy_and_back_by_post_copy_without_a_cold_boot_a_gap_in_its_console_or_an_overlap_of_runs()
    {
        await StartClusterAsync("32M", "32M");
        var a = await CreateAsync("m", "8M", 2, 4);
        var b = 1 - a;
        var before = Passes(await ConsoleAsync("m")).Last();

        var there = await MigrateAsync("m", b);
        Assert.Equal((Host(a), Host(b)), (there.SourceHost, there.TargetHost));
        var done = await FinishedAsync(there.MigrationId);
        Assert.True(done.State == MigrationState.Completed, done.FailureReason);
        Assert.True(done.DowntimeMs > 0);
        await ClusterVmctl.Eventually(async () => await WhereAsync("m") == (Host(b), "Running"), "m running on the target");
        await ClusterVmctl.Eventually(async () => Passes(await ConsoleAsync("m")).Last() > before + 8, "m counting on the target");
        AssertContinuous(Passes(await ConsoleAsync("m")), before);

        var events = await EventsAsync("m");
        var started = Assert.Single(events.OfType<VmMigrationStarted>());
        Assert.Equal(MigrationTrigger.Operator, started.Cause.Trigger);
        var migrated = Assert.Single(events.OfType<VmMigrated>());
        Assert.Equal((Host(a), Host(b)), (migrated.From, migrated.To));
        Assert.Single(events.OfType<VmMigrationCompleted>());
        Assert.Single(events.OfType<VmStarted>());
        var runs = Intervals("m");
        RunIntervals.AssertNoOverlap(runs);
        Assert.Single(runs, r => r.Host == a && r.End != long.MaxValue);
        Assert.Single(runs, r => r.Host == b && r.End == long.MaxValue);

        var middle = Passes(await ConsoleAsync("m")).Last();
        var back = await MigrateAsync("m", a, MigrationLimits.Default with { Strategy = MigrationStrategy.PostCopy });
        Assert.Equal(MigrationState.Completed, (await FinishedAsync(back.MigrationId)).State);
        await ClusterVmctl.Eventually(async () => await WhereAsync("m") == (Host(a), "Running"), "m running on its first host again");
        await ClusterVmctl.Eventually(async () => Passes(await ConsoleAsync("m")).Last() > middle + 8, "m counting on its first host");
        AssertContinuous(Passes(await ConsoleAsync("m")), middle);
        Assert.Equal("PostCopy", (await EventsAsync("m")).OfType<VmMigrationCompleted>().Last().Mode);
        var epochs = (await EventsAsync("m")).OfType<VmMigrated>().Select(m => m.Epoch).ToList();
        Assert.Equal(2, epochs.Count);
        Assert.Equal(epochs[0] + 1, epochs[1]);
        Assert.Single((await EventsAsync("m")).OfType<VmStarted>());
        runs = Intervals("m");
        RunIntervals.AssertNoOverlap(runs);
        Assert.Equal(2, runs.Count(r => r.Host == a));
        Assert.Single(runs, r => r.Host == b && r.End != long.MaxValue);
        RunIntervals.AssertEachRunsOnce(runs, ["m"]);
    }

    [Fact]
    public async Task Keeps_the_vm_on_its_host_when_the_target_has_no_room_or_the_migration_is_cancelled_and_applies_a_held_back_pause_on_the_target()
    {
        await StartClusterAsync("32M", "12M");
        var bigHost = await CreateAsync("big", "16M", 2, 2);
        Assert.Equal(0, bigHost);
        var refused = await FinishedAsync((await MigrateAsync("big", 1)).MigrationId);
        Assert.Equal(MigrationState.Failed, refused.State);
        Assert.Contains("memory", refused.FailureReason);
        Assert.Equal((Host(0), "Running"), await WhereAsync("big"));
        var failed = Assert.Single((await EventsAsync("big")).OfType<VmMigrationFailed>());
        Assert.False(failed.Cancelled);
        Assert.Equal(MigrationTrigger.Operator, Assert.Single((await EventsAsync("big")).OfType<VmMigrationStarted>()).Cause.Trigger);

        await Ctl.Ok(0, "stop", "big");
        var from = await CreateAsync("slow", "8M", 4, 2);
        var to = 1 - from;
        var slow = await MigrateAsync("slow", to, MigrationLimits.Default with { BandwidthBytesPerSecond = 512 << 10 });
        var second = await ClusterMessages.AskAsync<NotAllowed>(Host(0), new MigrateVm("slow", Host(to), MigrationLimits.Default, MigrationCause.ByOperator));
        Assert.Contains("already migrating", second.Reason);
        await Task.Delay(1000);
        Assert.IsType<MigrationCancelling>(await ClusterMessages.AskAsync(Host(0), new CancelMigration("slow")));
        var cancelled = await FinishedAsync(slow.MigrationId);
        Assert.Equal(MigrationState.Cancelled, cancelled.State);
        Assert.Equal((Host(from), "Running"), await WhereAsync("slow"));
        Assert.True(Assert.Single((await EventsAsync("slow")).OfType<VmMigrationFailed>()).Cancelled);
        var afterCancel = Passes(await ConsoleAsync("slow")).Last();
        await ClusterVmctl.Eventually(async () => Passes(await ConsoleAsync("slow")).Last() > afterCancel + 2, "slow counting on after the cancel");

        var moving = await MigrateAsync("slow", to, MigrationLimits.Default with { BandwidthBytesPerSecond = 2 << 20 });
        Assert.Contains("Paused", (await Ctl.Ok(0, "pause", "slow")).Stdout);
        Assert.Equal(MigrationState.Completed, (await FinishedAsync(moving.MigrationId)).State);
        await ClusterVmctl.Eventually(async () => await WhereAsync("slow") == (Host(to), "Paused"), "slow paused on the target");
        var events = await EventsAsync("slow");
        Assert.IsType<VmPaused>(events[^1]);
        Assert.IsType<VmMigrationCompleted>(events[^2]);
    }

    [Fact]
    public async Task Keeps_the_vm_counting_on_its_host_when_the_target_is_killed_during_pre_copy()
    {
        await StartClusterAsync("32M", "32M", "32M");
        var source = await CreateAsync("k", "16M", 8, 2);
        var target = (source + 1) % 3;
        var move = await MigrateAsync("k", target, MigrationLimits.Default with { BandwidthBytesPerSecond = 512 << 10 });
        await Task.Delay(1500);
        var killedAt = Cluster.Actors.Clustering.RunLog.NowNs();
        _nodes[target].Kill();
        var via = source == 0 ? 0 : source;
        MigrationInfo? info = null;
        await ClusterVmctl.Eventually(async () =>
        {
            var list = await ClusterMessages.AskAsync<MigrationList>(Host(via), ListMigrations.Instance);
            info = list.Migrations.FirstOrDefault(m => m.MigrationId == move.MigrationId);
            return info is { InProgress: false };
        }, "the migration to fail", 50);
        Assert.Equal(MigrationState.Failed, info!.State);
        var before = Passes(await ConsoleOn(via, "k")).Last();
        await ClusterVmctl.Eventually(async () => Passes(await ConsoleOn(via, "k")).Last() > before + 2, "k counting on its host");
        Assert.Single(RunIntervals.Read([RunLog(0), RunLog(1), RunLog(2)], h => h == target ? killedAt : long.MaxValue), x => x.Vm == "k");
    }

    private async Task<string> ConsoleOn(int via, string id) =>
        Encoding.ASCII.GetString((await ClusterMessages.AskAsync<ConsoleOutput>(Host(via), new ConsoleTail(id, 60_000))).Data);

    public void Dispose()
    {
        NodeTeardown.Run(_nodes, "", _postgres, _data);
    }
}
