using Cluster.Actors.Tests.TestUtils;
using Cluster.Actors.Vms;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Tests.Vms;

public class VmStateMigrationTests
{
    private static readonly DateTime Now = new(2026, 11, 29, 12, 0, 0, DateTimeKind.Utc);
    private const string A = "127.0.0.1:4001";
    private const string B = "127.0.0.1:4002";
    private static readonly string[] Up = [A, B];

    private static VmState Apply(VmState state, params VmEvent[] events) => events.Aggregate(state, (s, e) => s.Apply(e));

    private static VmState Running()
    {
        var state = Apply(VmState.Absent, new VmDefined("a", Now, "created", Specs.Of("a")));
        state = Apply(state, state.Claim("a", A, Now), new VmStarted("a", Now, "started"));
        return state;
    }

    private static MigrateVm To(string host, MigrationLimits? limits = null) =>
        new("a", host, limits ?? MigrationLimits.Default, MigrationCause.ByOperator);

    private static VmState Migrating() =>
        Apply(Running(), Running().DecideMigration(To(B), A, Up, "m1", Now).Events.ToArray());

    private static string Refusal(VmDecision decision) => Assert.IsType<NotAllowed>(decision.Refusal).Reason;

    [Fact]
    public void A_running_vm_may_migrate_to_another_host_that_is_up()
    {
        var decision = Running().DecideMigration(To(B), A, Up, "m1", Now);
        var started = Assert.IsType<VmMigrationStarted>(Assert.Single(decision.Events));
        Assert.Equal(("m1", A, B), (started.MigrationId, started.From, started.To));
        Assert.Equal(MigrationTrigger.Operator, started.Cause.Trigger);
        Assert.Contains("requested by an operator", started.Reason);
    }

    [Fact]
    public void Refuses_to_migrate_a_vm_that_is_not_running()
    {
        var paused = Apply(Running(), new VmPaused("a", Now, "paused"));
        Assert.Contains("only a running VM", Refusal(paused.DecideMigration(To(B), A, Up, "m1", Now)));
        var defined = Apply(VmState.Absent, new VmDefined("a", Now, "created", Specs.Of("a")));
        Assert.Contains("Defined", Refusal(defined.DecideMigration(To(B), A, Up, "m1", Now)));
        Assert.IsType<VmNotFound>(VmState.Absent.DecideMigration(To(B), A, Up, "m1", Now).Refusal);
    }

    [Fact]
    public void Refuses_a_migration_to_itself_or_to_an_unknown_host()
    {
        Assert.Contains("already runs on", Refusal(Running().DecideMigration(To(A), A, Up, "m1", Now)));
        Assert.Contains("unknown or unreachable host '10.0.0.9:1'", Refusal(Running().DecideMigration(To("10.0.0.9:1"), A, Up, "m1", Now)));
    }

    [Fact]
    public void Refuses_limits_out_of_range_and_takes_every_strategy()
    {
        foreach (var strategy in Enum.GetValues<MigrationStrategy>())
            Assert.Null(Running().DecideMigration(To(B, MigrationLimits.Default with { Strategy = strategy }), A, Up, "m1", Now).Refusal);
        Assert.Contains("limits out of range", Refusal(Running().DecideMigration(To(B, MigrationLimits.Default with { Connections = 0 }),
            A, Up, "m1", Now)));
        Assert.Contains("limits out of range", Refusal(Running().DecideMigration(To(B, MigrationLimits.Default with { DowntimeMs = 0 }),
            A, Up, "m1", Now)));
    }

    [Fact]
    public void Allows_one_migration_at_a_time()
    {
        var state = Migrating();
        Assert.Equal(new ActiveMigration("m1", A, B, false), state.Migration);
        Assert.Contains("already migrating to " + B, Refusal(state.DecideMigration(To(B), A, Up, "m2", Now)));
    }

    [Fact]
    public void Lifecycle_commands_wait_while_an_uncommitted_migration_runs_and_queries_do_not()
    {
        var state = Migrating();
        Assert.True(state.Defers(new PauseVm("a")));
        Assert.True(state.Defers(new StopVm("a", StopMode.Graceful)));
        Assert.True(state.Defers(new DeleteVm("a")));
        Assert.False(state.Defers(new GetVm("a")));
        Assert.False(state.Defers(new GetVmEvents("a")));
        Assert.False(Running().Defers(new PauseVm("a")));
    }

    [Fact]
    public void Cancel_reaches_an_uncommitted_migration_only()
    {
        Assert.Equal(new MigrationCancelling("a", "m1"), Migrating().DecideCancel("a"));
        Assert.Contains("no migration", Assert.IsType<NotAllowed>(Running().DecideCancel("a")).Reason);
        var committed = Apply(Migrating(), Migrating().Commit("a", "m1", A, B, Now));
        Assert.Contains("already committed", Assert.IsType<NotAllowed>(committed.DecideCancel("a")).Reason);
        Assert.IsType<VmNotFound>(VmState.Absent.DecideCancel("a"));
    }

    [Fact]
    public void The_commit_gives_the_vm_to_the_target_with_the_next_epoch()
    {
        var state = Migrating();
        var commit = state.Commit("a", "m1", A, B, Now);
        Assert.Equal(state.Epoch + 1, commit.Epoch);
        var after = state.Apply(commit);
        Assert.Equal((state.Epoch + 1, B), (after.Epoch, after.Owner));
        Assert.Equal(VmStatus.Running, after.Status);
        Assert.True(after.Migration!.Committed);
        Assert.False(after.Defers(new PauseVm("a")));
        Assert.Null(after.Apply(new VmMigrationCompleted("a", Now, "done", "m1", 3, 900, 1 << 20, 2, "Auto")).Migration);
    }

    [Fact]
    public void A_failed_migration_leaves_the_vm_running_where_it_was()
    {
        var state = Migrating();
        var failed = state.Apply(new VmMigrationFailed("a", Now, "the target refused", "m1", B, Cancelled: false));
        Assert.Null(failed.Migration);
        Assert.Equal((VmStatus.Running, state.Epoch, A), (failed.Status, failed.Epoch, failed.Owner));
        Assert.Null(failed.DecideMigration(To(B), A, Up, "m2", Now).Refusal);
    }

    [Fact]
    public void A_committed_migration_is_a_newer_claim_that_fences_the_source()
    {
        var state = Migrating();
        var claim = VmState.NewerClaim([state.Commit("a", "m1", A, B, Now)], state.Epoch);
        Assert.Equal((state.Epoch + 1, B), (claim!.Epoch, claim.Host));
        Assert.Null(VmState.NewerClaim([state.Commit("a", "m1", A, B, Now)], state.Epoch + 1));
    }

    [Fact]
    public void Migration_needs_cluster_mode_outside_a_cluster()
    {
        Assert.Contains("needs cluster mode", Refusal(Running().Decide(To(B), Now)));
        Assert.Contains("no migration", Refusal(Running().Decide(new CancelMigration("a"), Now)));
    }
}
