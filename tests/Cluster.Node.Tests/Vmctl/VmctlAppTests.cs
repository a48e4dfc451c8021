using Cluster.Contracts.Commands;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Live;
using Cluster.Vmctl.Output;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;

namespace Cluster.Node.Tests.Vmctl;

public class VmctlAppTests
{
    private static (bool Ok, string Id, object? Request, string? Error) Prepare(params string[] args)
    {
        var ok = VmctlApp.TryPrepare(CommandLine.Parse(args, out _)!, out var id, out var request, out var error);
        return (ok, id, request, error);
    }

    [Fact]
    public void Builds_the_migration_verbs_requests()
    {
        Assert.Equal(new CancelMigration("a"), Prepare("migrate", "--cancel", "a").Request);
        Assert.Same(ListMigrations.Instance, Prepare("migrations", "--watch").Request);
        Assert.Equal(new DrainHost("h:1"), Prepare("drain", "h:1", "--wait").Request);
        Assert.Equal(new UndrainHost("h:1"), Prepare("undrain", "h:1").Request);
        Assert.Same(GetRebalanceStatus.Instance, Prepare("rebalance").Request);
        Assert.Equal(new SetRebalanceMode(RebalanceMode.Recommend), Prepare("rebalance", "mode", "recommend").Request);
        Assert.IsType<MigrateVm>(Prepare("migrate", "a", "--to", "h:1", "--wait").Request);
    }

    [Fact]
    public void Reads_events_of_a_vm_given_by_option_or_argument()
    {
        Assert.Equal(new GetVmEvents("a"), Prepare("events", "--vm", "a").Request);
        Assert.Equal(new GetVmEvents("a"), Prepare("events", "a").Request);
        Assert.Contains("not both", Prepare("events", "a", "--vm", "b").Error);
    }

    [Theory]
    [InlineData(new[] { "rebalance", "mode", "sometimes" }, "bad rebalance mode 'sometimes' (off, recommend or automatic)")]
    [InlineData(new[] { "rebalance", "now" }, "'rebalance' takes no arguments (status) or 'mode off|recommend|automatic'")]
    [InlineData(new[] { "migrate", "--cancel", "a", "--to", "h:1" }, "takes no other migrate option")]
    [InlineData(new[] { "migrate", "a" }, "needs --to HOST")]
    [InlineData(new[] { "drain" }, "'drain' needs exactly one host")]
    [InlineData(new[] { "top", "--wait" }, "'top' does not take --wait")]
    [InlineData(new[] { "migrations", "a" }, "'migrations' takes no arguments")]
    public void Refuses_bad_command_lines_with_a_clear_message(string[] args, string message)
    {
        var (ok, _, _, error) = Prepare(args);
        Assert.False(ok);
        Assert.Contains(message, error);
    }

    [Fact]
    public async Task Exits_with_the_usage_code_for_a_bad_migrate_before_reaching_any_node()
    {
        var stderr = new StringWriter();
        Assert.Equal(ExitCodes.Usage, await VmctlApp.RunAsync(["migrate", "a", "--to", "h:1", "--mode", "warp"], TextWriter.Null, stderr));
        Assert.Contains("vmctl: bad --mode 'warp'", stderr.ToString());
    }

    [Fact]
    public async Task Calls_a_reply_that_does_not_answer_a_migration_verb_unexpected()
    {
        var line = CommandLine.Parse(["migrate", "a", "--to", "h:1"], out _)!;
        Assert.True(VmctlApp.TryPrepare(line, out var id, out var request, out _));
        var client = new CannedClient().On<MigrateVm>(new VmCommandAccepted("a", VmStatus.Running));
        var stderr = new StringWriter();
        var code = await VmctlApp.RunAsync(client, line, id, request, "h:1", new Printer(TextWriter.Null, false), stderr,
            new LiveOptions(false, TimeSpan.Zero), CancellationToken.None);
        Assert.Equal(ExitCodes.Unexpected, code);
        Assert.Contains("answered VmCommandAccepted to MigrateVm", stderr.ToString());
    }

    [Fact]
    public async Task Follows_a_migration_after_it_is_accepted_with_wait()
    {
        var line = CommandLine.Parse(["migrate", "a", "--to", "h2:1", "--wait"], out _)!;
        Assert.True(VmctlApp.TryPrepare(line, out var id, out var request, out _));
        var client = new CannedClient()
            .On<MigrateVm>(new MigrationAccepted("a", "m-1", "10.0.0.1:4053", "10.0.0.2:4053"))
            .On<ListMigrations>(new MigrationList([CannedClient.Migration("a", MigrationState.Completed, remaining: 0)]));
        var stdout = new StringWriter();
        var code = await VmctlApp.RunAsync(client, line, id, request, "h:1", new Printer(stdout, false), TextWriter.Null,
            new LiveOptions(false, TimeSpan.Zero), CancellationToken.None);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.StartsWith("a: migrating 10.0.0.1:4053 -> 10.0.0.2:4053 (migration m-1)\n", stdout.ToString());
        Assert.EndsWith("a: now on 10.0.0.2:4053; downtime 42 ms, total 4.2 s, 900.0 MiB sent\n", stdout.ToString());
    }
}
