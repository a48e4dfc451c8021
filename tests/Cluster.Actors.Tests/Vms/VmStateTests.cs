using Cluster.Actors.Runtime;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Actors.Vms;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Tests.Vms;

public class VmStateTests
{
    private static readonly DateTime Now = new(2026, 11, 29, 12, 0, 0, DateTimeKind.Utc);

    private static VmState Run(VmState state, params IVmCommand[] commands)
    {
        foreach (var command in commands)
        {
            var decision = state.Decide(command, Now);
            Assert.Null(decision.Refusal);
            state = decision.Events.Aggregate(state, (s, e) => s.Apply(e));
        }
        return state;
    }

    private static VmState Running(RestartPolicy? restart = null) =>
        Run(VmState.Absent, new CreateVm(Specs.Of("a", restart: restart)), new StartVm("a"));

    [Fact]
    public void Create_defines_a_vm_from_its_spec()
    {
        var state = Run(VmState.Absent, new CreateVm(Specs.Of("a")));
        Assert.Equal(VmStatus.Defined, state.Status);
        Assert.Equal("a", state.Spec?.Id);
        Assert.IsType<VmDefined>(Assert.Single(state.Events));
    }

    [Fact]
    public void Walks_start_pause_resume_stop_and_records_each_event()
    {
        var state = Run(Running(), new PauseVm("a"), new ResumeVm("a"), new StopVm("a", StopMode.Graceful));
        Assert.Equal(VmStatus.Stopped, state.Status);
        Assert.Equal(
            [typeof(VmDefined), typeof(VmStarted), typeof(VmPaused), typeof(VmResumed), typeof(VmStopped)],
            state.Events.Select(e => e.GetType()));
    }

    [Fact]
    public void Refuses_a_second_create_with_the_same_id()
    {
        var decision = Running().Decide(new CreateVm(Specs.Of("a")), Now);
        Assert.Contains("already exists", Assert.IsType<NotAllowed>(decision.Refusal).Reason);
        Assert.Empty(decision.Events);
    }

    [Fact]
    public void Refuses_commands_for_an_absent_vm_with_not_found() =>
        Assert.IsType<VmNotFound>(VmState.Absent.Decide(new StartVm("x"), Now).Refusal);

    [Theory]
    [InlineData("start")]
    [InlineData("resume")]
    [InlineData("delete")]
    public void Refuses_what_a_running_vm_cannot_do(string verb)
    {
        IVmCommand command = verb switch { "start" => new StartVm("a"), "resume" => new ResumeVm("a"), _ => new DeleteVm("a") };
        Assert.IsType<NotAllowed>(Running().Decide(command, Now).Refusal);
    }

    [Fact]
    public void Refuses_to_pause_or_stop_a_defined_vm()
    {
        var defined = Run(VmState.Absent, new CreateVm(Specs.Of("a")));
        Assert.IsType<NotAllowed>(defined.Decide(new PauseVm("a"), Now).Refusal);
        Assert.IsType<NotAllowed>(defined.Decide(new StopVm("a", StopMode.Forced), Now).Refusal);
    }

    [Fact]
    public void Deleting_a_stopped_vm_frees_its_id_for_a_new_create()
    {
        var deleted = Run(Running(), new StopVm("a", StopMode.Forced), new DeleteVm("a"));
        Assert.Equal(VmStatus.Deleted, deleted.Status);
        Assert.IsType<VmNotFound>(deleted.Decide(new StartVm("a"), Now).Refusal);
        var again = Run(deleted, new CreateVm(Specs.Of("a")));
        Assert.Equal(VmStatus.Defined, again.Status);
        Assert.Single(again.Events);
    }

    [Fact]
    public void A_failed_guest_without_restart_policy_is_crashed()
    {
        var decision = Running().DecideExit(new GuestExit(true, "shutdown (triple fault)"), Now);
        var crashed = Assert.IsType<VmCrashed>(Assert.Single(decision.Events));
        Assert.Equal("shutdown (triple fault)", crashed.Reason);
    }

    [Fact]
    public void On_failure_policy_restarts_until_max_restarts_then_leaves_it_crashed()
    {
        var state = Running(new RestartPolicy(RestartMode.OnFailure, 2));
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var decision = state.DecideExit(new GuestExit(true, "triple fault"), Now);
            Assert.Equal([typeof(VmCrashed), typeof(VmRestarted)], decision.Events.Select(e => e.GetType()));
            state = decision.Events.Aggregate(state, (s, e) => s.Apply(e));
            Assert.Equal(VmStatus.Running, state.Status);
            Assert.Equal(attempt, state.Restarts);
        }
        var last = state.DecideExit(new GuestExit(true, "triple fault"), Now);
        Assert.IsType<VmCrashed>(Assert.Single(last.Events));
    }

    [Fact]
    public void On_failure_policy_does_not_restart_a_clean_exit()
    {
        var decision = Running(new RestartPolicy(RestartMode.OnFailure, 3)).DecideExit(new GuestExit(false, "status 0"), Now);
        Assert.IsType<VmStopped>(Assert.Single(decision.Events));
    }

    [Fact]
    public void Always_policy_restarts_a_clean_exit()
    {
        var decision = Running(new RestartPolicy(RestartMode.Always, 1)).DecideExit(new GuestExit(false, "status 0"), Now);
        Assert.Equal([typeof(VmStopped), typeof(VmRestarted)], decision.Events.Select(e => e.GetType()));
    }

    [Fact]
    public void A_start_by_command_resets_the_restart_count()
    {
        var state = Running(new RestartPolicy(RestartMode.OnFailure, 1));
        state = state.DecideExit(new GuestExit(true, "x"), Now).Events.Aggregate(state, (s, e) => s.Apply(e));
        state = state.DecideExit(new GuestExit(true, "x"), Now).Events.Aggregate(state, (s, e) => s.Apply(e));
        Assert.Equal(VmStatus.Crashed, state.Status);
        Assert.Equal(0, Run(state, new StartVm("a")).Restarts);
    }

    [Fact]
    public void An_exit_of_a_stopped_vm_decides_nothing() =>
        Assert.Empty(Run(Running(), new StopVm("a", StopMode.Graceful)).DecideExit(new GuestExit(true, "late"), Now).Events);

    [Fact]
    public void Keeps_only_the_most_recent_events()
    {
        var state = Running() with { EventsKept = 3 };
        state = Run(state, new PauseVm("a"), new ResumeVm("a"), new PauseVm("a"));
        Assert.Equal([typeof(VmPaused), typeof(VmResumed), typeof(VmPaused)], state.Events.Select(e => e.GetType()));
    }

    [Fact]
    public void A_snapshot_restores_the_same_state()
    {
        var state = Run(Running(), new PauseVm("a"));
        var restored = VmState.FromSnapshot(state.ToSnapshot(), 100);
        Assert.Equal(state.Status, restored.Status);
        Assert.Equal(state.Spec, restored.Spec);
        Assert.Equal(state.Events, restored.Events);
        Assert.Equal(state.Reason, restored.Reason);
    }

    [Fact]
    public void Each_claim_takes_the_next_epoch_and_keeps_status_and_reason()
    {
        var state = Running();
        var first = state.Claim("a", "h1:1", Now);
        state = state.Apply(first);
        var second = state.Claim("a", "h2:2", Now);
        state = state.Apply(second);
        Assert.Equal((1L, 2L), (first.Epoch, second.Epoch));
        Assert.Equal((2L, "h2:2"), (state.Epoch, state.Owner));
        Assert.Equal((VmStatus.Running, "started by command"), (state.Status, state.Reason));
    }

    [Fact]
    public void The_epoch_survives_delete_and_recreate_and_snapshots()
    {
        var state = Running().Apply(new VmOwnerClaimed("a", Now, "owned", 3, "h1:1"));
        state = Run(state, new StopVm("a", StopMode.Forced), new DeleteVm("a"), new CreateVm(Specs.Of("a")));
        Assert.Equal(3, state.Epoch);
        Assert.Equal(3, VmState.FromSnapshot(state.ToSnapshot(), 10).Epoch);
        Assert.Equal(4, state.Claim("a", "h2:2", Now).Epoch);
    }

    [Fact]
    public void Cold_starts_count_ownership_claims_not_live_migrations_and_survive_snapshots()
    {
        var state = Running().Apply(new VmOwnerClaimed("a", Now, "owned", 1, "h1:1"));
        state = state.Apply(state.Commit("a", "m1", "h1:1", "h2:2", Now));
        Assert.Equal(1, state.ColdStarts);
        state = state.Apply(state.Claim("a", "h3:3", Now));
        Assert.Equal(2, state.ColdStarts);
        Assert.Equal(2, VmState.FromSnapshot(state.ToSnapshot(), 10).ColdStarts);
        Assert.Equal(2, Assert.IsType<VmInfo>(state.Describe("a", "h3:3")).ColdStarts);
    }

    [Fact]
    public void Only_a_claim_above_my_epoch_fences_me()
    {
        VmEvent[] newer = [new VmStarted("a", Now, "x"), new VmOwnerClaimed("a", Now, "owned", 2, "h2:2")];
        Assert.Null(VmState.NewerClaim(newer, 2));
        Assert.Equal("h2:2", VmState.NewerClaim(newer, 1)?.Host);
    }
}
