using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;
using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Live;
using Cluster.Vmctl.Output;

namespace Cluster.Node.Tests.Vmctl.Live;

public class MigrationFollowerTests
{
    private static readonly MigrationAccepted Accepted = new("a", "m-1", "10.0.0.1:4053", "10.0.0.2:4053");

    private static async Task<(int Code, string Out, string Err)> Follow(CannedClient client, bool ansi = false, bool json = false)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await MigrationFollower.RunAsync(client, Accepted, new Printer(stdout, json), stderr,
            new LiveOptions(ansi, TimeSpan.Zero), CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Follows_each_round_until_completed_and_exits_ok()
    {
        var client = new CannedClient().On<ListMigrations>(
            new MigrationList([CannedClient.Migration("a", MigrationState.Preparing)]),
            new MigrationList([CannedClient.Migration("a", MigrationState.PreCopy)]),
            new MigrationList([CannedClient.Migration("a", MigrationState.Completed, remaining: 0)]));
        var (code, text, _) = await Follow(client);
        var lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(4, lines.Length);
        Assert.Contains("Preparing round 2  [....................]   0%", lines[0]);
        Assert.Contains("PreCopy round 2  [###############.....]  75%  remaining 256.0 MiB  rate 300.0 MiB/s  dirty 20.0 MiB/s  eta 1.5 s  throttle 10%", lines[1]);
        Assert.Contains("Completed  [####################] 100%", lines[2]);
        Assert.Equal("a: now on 10.0.0.2:4053; downtime 42 ms, total 4.2 s, 900.0 MiB sent", lines[3]);
    }

    [Fact]
    public async Task Exits_failed_with_the_reason_when_the_migration_fails()
    {
        var client = new CannedClient().On<ListMigrations>(
            new MigrationList([CannedClient.Migration("a", MigrationState.Failed, failure: "dirty rate 900 MiB/s outruns the link")]));
        var (code, _, err) = await Follow(client);
        Assert.Equal(ExitCodes.Failed, code);
        Assert.Contains("migration of a to 10.0.0.2:4053 failed: dirty rate 900 MiB/s outruns the link; it still runs on 10.0.0.1:4053", err);
    }

    [Fact]
    public async Task Redraws_the_progress_line_in_place_on_a_terminal()
    {
        var client = new CannedClient().On<ListMigrations>(
            new MigrationList([CannedClient.Migration("a", MigrationState.PreCopy)]),
            new MigrationList([CannedClient.Migration("a", MigrationState.Completed, remaining: 0)]));
        var (_, text, _) = await Follow(client, ansi: true);
        Assert.StartsWith("\r\u001b[J", text);
        Assert.Equal(2, text.Split("\r\u001b[J").Length - 1);
    }

    [Fact]
    public async Task Judges_a_migration_gone_from_the_list_by_the_vms_events()
    {
        var client = new CannedClient()
            .On<ListMigrations>(new MigrationList([]))
            .On<GetVmEvents>(new VmEventList("a",
                [new VmMigrationFailed("a", DateTime.UtcNow, "cancelled by an operator", "m-1", "10.0.0.2:4053", Cancelled: true)]));
        var (code, _, err) = await Follow(client);
        Assert.Equal(ExitCodes.Failed, code);
        Assert.Contains("cancelled: cancelled by an operator", err);
    }

    [Fact]
    public async Task Judges_a_migration_whose_commit_but_not_completion_is_recorded_as_done()
    {
        // The source host died right after the commit: no host lists the migration, and no completion will be written.
        var client = new CannedClient()
            .On<ListMigrations>(new MigrationList([]))
            .On<GetVmEvents>(new VmEventList("a",
                [new VmMigrated("a", DateTime.UtcNow, "migrated", "m-1", "10.0.0.1:4053", "10.0.0.2:4053", 4)]));
        var (code, text, _) = await Follow(client);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("a: now on 10.0.0.2:4053 (the commit is recorded, epoch 4", text);
    }

    [Fact]
    public async Task Gives_up_when_the_node_stops_answering()
    {
        var (code, _, err) = await Follow(new CannedClient());
        Assert.Equal(ExitCodes.Unreachable, code);
        Assert.Contains("gave up following m-1", err);
    }

    [Fact]
    public async Task Prints_only_the_final_figures_as_json()
    {
        var client = new CannedClient().On<ListMigrations>(
            new MigrationList([CannedClient.Migration("a", MigrationState.PreCopy)]),
            new MigrationList([CannedClient.Migration("a", MigrationState.Completed, remaining: 0)]));
        var (code, json, _) = await Follow(client, json: true);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal("Completed", System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("state").GetString());
    }
}
