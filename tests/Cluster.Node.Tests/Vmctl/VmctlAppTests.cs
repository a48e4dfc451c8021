using Cluster.Contracts.Commands;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Vmctl.Cli;

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
}
