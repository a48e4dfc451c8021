using Cluster.Actors.Rebalancing;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;

namespace Cluster.Actors.Tests.Rebalancing;

public class MoveTrackerTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    private static readonly RebalanceSettings Settings = RebalanceSettings.Default with
    {
        RetryBackoff = TimeSpan.FromSeconds(10), RetryBackoffMax = TimeSpan.FromSeconds(25), AcceptTimeout = TimeSpan.FromSeconds(15),
        SettleTimeout = TimeSpan.FromSeconds(15), MoveTimeout = TimeSpan.FromMinutes(10),
    };

    private static PlannedMove Move(string vm, string from = "h1", string to = "h2") => new(vm, from, to, 0.1, 1, "test");

    private static MigrationInfo Info(string vm, string target, MigrationState state, string id = "m1") => new(vm, id, "h1", target,
        state, MigrationStrategy.Auto, 0, 1, 0, 0, 3e6, -1, 0, T0, null, null, null, 0, null,
        new MigrationCause(MigrationTrigger.Rebalance, "test", new Dictionary<string, string>()));

    private static bool Nowhere(string vm, string host) => false;

    [Fact]
    public void A_completed_move_settles_into_the_history_and_counts()
    {
        var tracker = new MoveTracker(Settings);
        tracker.Started(Move("a"), MigrationTrigger.Rebalance, T0);
        tracker.Accepted("a", "m1");
        Assert.Equal([new PendingMove("a", "h1", "h2", Active: true)], tracker.Pending);
        Assert.Null(tracker.Progress(Info("a", "h2", MigrationState.PreCopy), T0));
        Assert.Null(tracker.Progress(Info("a", "h2", MigrationState.Completed, id: "other"), T0));
        var ended = tracker.Progress(Info("a", "h2", MigrationState.Completed), T0 + TimeSpan.FromSeconds(3));
        Assert.True(ended!.Value.Completed);
        Assert.Equal(1, tracker.MovesMade);
        Assert.Equal([new PendingMove("a", "h1", "h2", Active: false)], tracker.Pending);
        Assert.Equal([new RecentMove("a", "h1", "h2", T0 + TimeSpan.FromSeconds(3))], tracker.History);
        tracker.Tick(T0 + TimeSpan.FromSeconds(4), (vm, host) => host == "h2");
        Assert.Empty(tracker.Pending);
        tracker.Tick(T0 + Settings.History + TimeSpan.FromSeconds(4), Nowhere);
        Assert.Empty(tracker.History);
    }

    [Fact]
    public void Failures_back_off_doubling_up_to_the_maximum()
    {
        var tracker = new MoveTracker(Settings);
        var now = T0;
        var waits = new List<TimeSpan>();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            tracker.Started(Move("a"), MigrationTrigger.Drain, now);
            tracker.Failed("a", "migration failed: link down", now);
            Assert.Equal("migration failed: link down", tracker.HeldReasons(now)["a"]);
            Assert.Empty(tracker.Refusals(now));
            var until = now;
            while (tracker.HeldReasons(until).ContainsKey("a"))
                until += TimeSpan.FromSeconds(1);
            waits.Add(until - now);
            now = until;
        }
        Assert.Equal([TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(25)], waits);
    }

    [Fact]
    public void A_refusal_is_reported_until_the_vm_is_tried_again()
    {
        var tracker = new MoveTracker(Settings);
        tracker.Started(Move("a"), MigrationTrigger.Drain, T0);
        Assert.Equal("h2", tracker.Refused("a", "refused: not running", T0)!.To);
        Assert.Equal("refused: not running (tried again at 12:00:10)", tracker.Refusals(T0 + TimeSpan.FromSeconds(9))["a"]);
        Assert.Empty(tracker.Refusals(T0 + TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void A_move_not_accepted_in_time_fails_and_one_seen_on_its_target_completes()
    {
        var tracker = new MoveTracker(Settings);
        tracker.Started(Move("a"), MigrationTrigger.Rebalance, T0);
        tracker.Started(Move("b", "h3", "h4"), MigrationTrigger.Rebalance, T0);
        tracker.Accepted("b", "m2");
        var late = tracker.Tick(T0 + TimeSpan.FromSeconds(16), Nowhere);
        Assert.Equal("a", Assert.Single(late).VmId);
        Assert.Contains("a", tracker.HeldReasons(T0 + TimeSpan.FromSeconds(16)).Keys);
        tracker.Tick(T0 + TimeSpan.FromSeconds(17), (vm, host) => vm == "b" && host == "h4");
        Assert.Equal(1, tracker.MovesMade);
        Assert.Empty(tracker.InFlightMoves);
    }

    [Fact]
    public void Remembers_measured_dirty_rates_and_ignores_moves_that_are_not_its_own()
    {
        var tracker = new MoveTracker(Settings);
        tracker.Observe(Info("z", "h9", MigrationState.PreCopy));
        Assert.Equal(3e6, tracker.DirtyRate("z"));
        Assert.Null(tracker.DirtyRate("a"));
        tracker.Started(Move("a"), MigrationTrigger.Rebalance, T0);
        Assert.Null(tracker.Progress(Info("a", "h7", MigrationState.Failed), T0));
        Assert.Null(tracker.Failed("z", "not ours", T0));
        Assert.Single(tracker.InFlightMoves);
    }
}
