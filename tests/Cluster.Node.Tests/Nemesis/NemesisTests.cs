using System.Globalization;
using Cluster.Node.Tests.TestUtils;
using Xunit.Abstractions;

namespace Cluster.Node.Tests.Nemesis;

/// <summary>
/// The nemesis: three real nodes in network namespaces (<see cref="NemesisCluster"/>), a seeded schedule of faults (host and
/// daemon crashes, stalls with SIGSTOP, partitions, crashes of a migration's source or target) while a client creates,
/// migrates, stops and starts counting guests; then the whole history is checked (<see cref="NemesisHistory"/>). The CI tier
/// runs one short schedule of a fixed seed; <c>bench/chaos/run</c> runs many (<c>CHAOS_SCHEDULES</c>, <c>CHAOS_SEED</c>,
/// <c>CHAOS_FAULTS</c>) and reads the figures from <c>CHAOS_SUMMARY</c>. A failure names its seed; <c>CHAOS_SEED=N
/// CHAOS_SCHEDULES=1</c> replays it.
/// </summary>
public sealed class NemesisTests(ITestOutputHelper output)
{
    private static int Env(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;

    [RootFact]
    public async Task No_vm_runs_twice_no_epoch_goes_back_and_no_acknowledged_operation_is_lost_under_crashes_stalls_and_partitions()
    {
        var schedules = Env("CHAOS_SCHEDULES", 1);
        var firstSeed = Env("CHAOS_SEED", 20261207);
        var faults = Env("CHAOS_FAULTS", 3);
        int faultsApplied = 0, violations = 0, lostAcks = 0;
        var failures = new List<string>();
        for (var s = 0; s < schedules; s++)
        {
            var schedule = NemesisSchedule.Generate(firstSeed + s, faults);
            output.WriteLine($"schedule {schedule}");
            var (applied, found, lost, report) = await RunAsync(schedule);
            faultsApplied += applied;
            violations += found.Count;
            lostAcks += lost.Count;
            output.WriteLine(report);
            if (found.Count + lost.Count > 0)
                failures.Add($"seed {schedule.Seed}: {string.Join("; ", found.Concat(lost))}\n{report}");
        }
        var summary = $"schedules={schedules} faults={faultsApplied} violations={violations} lost_acks={lostAcks}";
        output.WriteLine(summary);
        if (Environment.GetEnvironmentVariable("CHAOS_SUMMARY") is { Length: > 0 } file)
            await File.WriteAllTextAsync(file, summary + "\n" + string.Join("\n", failures) + "\n");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    private async Task<(int Faults, List<string> Violations, List<string> LostAcks, string Report)> RunAsync(NemesisSchedule schedule)
    {
        await using var cluster = new NemesisCluster();
        var history = new NemesisHistory();
        await cluster.StartAsync();
        var driver = new NemesisDriver(cluster, history, schedule, output);
        await driver.CreateVmsAsync();
        foreach (var (before, fault) in schedule.Steps)
        {
            foreach (var op in before)
                await driver.IssueAsync(op);
            await driver.ApplyAsync(fault);
        }
        await driver.QuiesceAsync();
        var (violations, lost) = await driver.CheckAsync();
        return (history.Faults.Count, violations, lost, history.Describe());
    }
}
