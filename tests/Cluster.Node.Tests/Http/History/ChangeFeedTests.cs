using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using Cluster.Node.Http.History;
using static Cluster.Node.Tests.Http.History.HistoryBookTests;

namespace Cluster.Node.Tests.Http.History;

public sealed class ChangeFeedTests
{
    private static readonly DateTime T0 = new(2026, 12, 6, 12, 0, 0, DateTimeKind.Utc);
    private static readonly HostStatus[] Hosts = [Host("h1:1", 0), Host("h2:1", 0)];

    private static MigrationInfo Migration(MigrationState state, MigrationCause cause) =>
        new("a", "m-1", "h1:1", "h2:1", state, MigrationStrategy.Auto, 2, 64UL << 20, 0, 1e8, 1e6, 0, 0, T0, state == MigrationState.Completed ? T0.AddSeconds(2) : null,
            state == MigrationState.Completed ? 12.5 : null, state == MigrationState.Completed ? 2000 : null, 1L << 26, null, cause);

    private static RebalanceHost Balance(string host, bool draining) => new(host, 0.5, draining, new Dictionary<string, string>());

    [Fact]
    public void The_first_sample_is_the_baseline_but_reports_the_migrations_remembered()
    {
        var feed = new ChangeFeed();
        var cause = new MigrationCause(MigrationTrigger.Rebalance, "h1 busiest", new Dictionary<string, string>());
        feed.Observe(T0, Hosts, [Vm("a", "h1:1"), Vm("b", "h2:1")], [Migration(MigrationState.Completed, cause)], []);
        var events = feed.After(0);
        Assert.Equal(["migration", "migration"], events.Select(e => e.Kind));
        Assert.Equal("a migrating h1:1 → h2:1 (auto), by the rebalancer: h1 busiest", events[0].Text);
        Assert.Equal("a migrated to h2:1: paused 12.5 ms, 2000 ms in all, 3 rounds", events[1].Text);
        Assert.Equal(2, feed.Last);
    }

    [Fact]
    public void Reports_placements_status_changes_restarts_failovers_deletions_and_drains_with_their_reasons()
    {
        var feed = new ChangeFeed();
        feed.Observe(T0, Hosts, [Vm("a", "h1:1"), Vm("b", "h2:1")], [], [Balance("h1:1", false)]);
        feed.Observe(T0.AddSeconds(10), Hosts,
            [Vm("a", "h1:1", VmStatus.Crashed, reason: "triple fault"), Vm("b", "h1:1", reason: "h2:1 unreachable: restarted here"), Vm("c", "h2:1", VmStatus.Defined, reason: "created")],
            [], [Balance("h1:1", true)]);
        feed.Observe(T0.AddSeconds(20), [Host("h1:1", 0)], [Vm("a", "h1:1", restarts: 1, reason: "restart policy"), Vm("b", "h1:1")], [], null);

        var events = feed.After(0).Select(e => (e.Kind, e.Vm ?? e.Host, e.Text)).ToList();
        Assert.Equal([
            ("drain", "h1:1", "host h1:1 is draining: its VMs move away"),
            ("status", "a", "a running → crashed: triple fault"),
            ("failover", "b", "b now runs on h1:1, was on h2:1 (its new owner fences the old): h2:1 unreachable: restarted here"),
            ("placement", "c", "c created on h2:1 (defined): created"),
            ("host", "h2:1", "host h2:1 left the cluster"),
            ("restart", "a", "a restarted by its restart policy (restart 1): restart policy"),
            ("deleted", "c", "c was deleted"),
        ], events);
        Assert.Equal(["deleted"], feed.After(feed.Last - 1).Select(e => e.Kind));
    }

    [Fact]
    public void A_vm_that_moves_by_migration_is_no_failover()
    {
        var feed = new ChangeFeed();
        feed.Observe(T0, Hosts, [Vm("a", "h1:1")], [Migration(MigrationState.PreCopy, MigrationCause.ByOperator)], []);
        feed.Observe(T0.AddSeconds(10), Hosts, [Vm("a", "h2:1")], [Migration(MigrationState.Completed, MigrationCause.ByOperator)], []);
        Assert.Equal(["a migrating h1:1 → h2:1 (auto), asked by an operator", "a migrated to h2:1: paused 12.5 ms, 2000 ms in all, 3 rounds"],
            feed.After(0).Select(e => e.Text));
    }

    [Fact]
    public void Keeps_only_the_newest_events()
    {
        var feed = new ChangeFeed(capacity: 3);
        feed.Observe(T0, Hosts, [], [], []);
        for (var i = 0; i < 5; i++)
            feed.Observe(T0.AddSeconds(i), Hosts, i % 2 == 0 ? [Vm("a", "h1:1")] : [], [], []);
        Assert.Equal([3L, 4, 5], feed.After(0).Select(e => e.Seq));
    }
}
