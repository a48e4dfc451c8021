using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Live;
using Cluster.Vmctl.Output;

namespace Cluster.Node.Tests.Vmctl.Live;

public class DrainFollowerTests
{
    private static HostList Hosts(params string[] vms) => new(
    [
        new HostStatus("h1:1", 4, 1UL << 30, new Dictionary<string, string>(), "AuthenticAMD", [],
            [.. vms.Select(v => new PlacedVm(v, 1, 64UL << 20, null))], vms.Length, 0, 0, DateTime.UtcNow),
    ]);

    private static RebalanceStatus Stuck(IReadOnlyDictionary<string, string> stuck) =>
        new(RebalanceMode.Off, 0, 0.2, null, [new RebalanceHost("h1:1", 0.5, true, stuck)], [], [], 0);

    private static async Task<(int Code, string Out, string Err)> Follow(CannedClient client)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await DrainFollower.RunAsync(client, "h1:1", new Printer(stdout, json: false), stderr,
            new LiveOptions(false, TimeSpan.Zero), CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Follows_the_moves_until_the_host_is_empty()
    {
        var client = new CannedClient()
            .On<ListHosts>(Hosts("a", "b"), Hosts("b"), Hosts())
            .On<ListMigrations>(new MigrationList([CannedClient.Migration("a", MigrationState.PreCopy) with { Source = "h1:1" }]))
            .On<GetRebalanceStatus>(Stuck(new Dictionary<string, string>()));
        var (code, text, _) = await Follow(client);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("draining h1:1: 2 VMs left (a, b), 1 moving, 0 fit nowhere", text);
        Assert.Contains("[###############.....]  75%", text);
        Assert.Contains("draining h1:1: 1 VM left (b)", text);
        Assert.EndsWith("h1:1: drained, no VM left\n", text);
    }

    [Fact]
    public async Task Lists_loudly_the_vms_that_fit_nowhere_and_exits_failed()
    {
        var client = new CannedClient()
            .On<ListHosts>(Hosts("big"))
            .On<ListMigrations>(new MigrationList([]))
            .On<GetRebalanceStatus>(Stuck(new Dictionary<string, string> { ["big"] = "needs 8 vCPUs; the most free is 2" }));
        var (code, text, err) = await Follow(client);
        Assert.Equal(ExitCodes.Failed, code);
        Assert.Contains("FITS NOWHERE big: needs 8 vCPUs; the most free is 2", text);
        Assert.Contains("vmctl: DRAIN INCOMPLETE: 1 VM cannot leave h1:1:", err);
        Assert.Contains("vmctl:   big: needs 8 vCPUs; the most free is 2", err);
    }

    [Fact]
    public async Task Counts_a_drain_where_nothing_moves_as_stalled()
    {
        var client = new CannedClient().On<ListHosts>(Hosts("a")).On<ListMigrations>(new MigrationList([]));
        var (code, _, err) = await Follow(client);
        Assert.Equal(ExitCodes.Failed, code);
        Assert.Contains("a: did not move and no reason was reported", err);
        Assert.Equal(DrainFollower.StallRefreshes + 1, client.Asked.OfType<ListHosts>().Count());
    }
}
