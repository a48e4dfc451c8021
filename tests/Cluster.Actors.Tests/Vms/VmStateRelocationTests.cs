using Cluster.Actors.Tests.TestUtils;
using Cluster.Actors.Vms;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Tests.Vms;

/// <summary>The failover relocation limit (ha.max-relocations within ha.relocation-window), decided by the pure state.</summary>
public class VmStateRelocationTests
{
    private static readonly DateTime T0 = new(2026, 12, 6, 12, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(30);

    /// <summary>Created and started by hand on host h0 at <see cref="T0"/> (claim epoch 1).</summary>
    private static VmState StartedOnH0()
    {
        var state = VmState.Absent;
        foreach (var e in new VmEvent[]
                 {
                     new VmDefined("a", T0, "created", Specs.Of("a")),
                     new VmOwnerClaimed("a", T0, "claimed", 1, "h0"),
                     new VmStarted("a", T0, "started by command"),
                 })
            state = state.Apply(e);
        return state;
    }

    /// <summary>A failover boot on <paramref name="host"/> at <paramref name="at"/>, as the VM actor persists it (claim, then the decision).</summary>
    private static VmState FailOver(VmState state, string host, DateTime at)
    {
        var decision = state.DecideColdBoot(host, at, maxRelocations: 3, Window);
        Assert.Null(decision.Refusal);
        if (decision.Events[0] is VmStarted)
            state = state.Apply(state.Claim("a", host, at));
        return decision.Events.Aggregate(state, (s, e) => s.Apply(e));
    }

    [Fact]
    public void Three_failovers_boot_and_the_fourth_within_the_window_leaves_the_vm_crashed_naming_why()
    {
        var state = StartedOnH0();
        state = FailOver(state, "h1", T0.AddMinutes(1));
        state = FailOver(state, "h2", T0.AddMinutes(2));
        state = FailOver(state, "h3", T0.AddMinutes(3));
        Assert.Equal(VmStatus.Running, state.Status);
        Assert.Equal(3, state.RelocationsSince(T0));

        var decision = state.DecideColdBoot("h4", T0.AddMinutes(4), 3, Window);

        var crashed = Assert.IsType<VmCrashed>(Assert.Single(decision.Events));
        Assert.Contains("h4", crashed.Reason);
        Assert.Contains("3 time(s)", crashed.Reason);
    }

    [Fact]
    public void A_restart_on_the_same_host_is_no_relocation()
    {
        var state = StartedOnH0();
        for (int i = 1; i <= 5; i++)
            state = FailOver(state, "h0", T0.AddMinutes(i));

        Assert.Equal(VmStatus.Running, state.Status);
        Assert.Equal(0, state.RelocationsSince(T0));
    }

    [Fact]
    public void Failovers_older_than_the_window_do_not_count()
    {
        var state = StartedOnH0();
        state = FailOver(state, "h1", T0.AddMinutes(1));
        state = FailOver(state, "h2", T0.AddMinutes(2));
        state = FailOver(state, "h3", T0.AddMinutes(3));

        var decision = state.DecideColdBoot("h4", T0.AddMinutes(3) + Window + TimeSpan.FromSeconds(1), 3, Window);

        Assert.IsType<VmStarted>(Assert.Single(decision.Events));
    }

    [Fact]
    public void A_start_by_hand_after_the_limit_counts_again_from_zero()
    {
        var state = StartedOnH0();
        foreach (var (host, minute) in new[] { ("h1", 1), ("h2", 2), ("h3", 3), ("h4", 4) })
            state = FailOver(state, host, T0.AddMinutes(minute));
        Assert.Equal(VmStatus.Crashed, state.Status);

        state = state.Decide(new StartVm("a"), T0.AddMinutes(5)).Events.Aggregate(state, (s, e) => s.Apply(e));
        state = FailOver(state, "h1", T0.AddMinutes(6));

        Assert.Equal(VmStatus.Running, state.Status);
        Assert.Equal(1, state.RelocationsSince(T0));
    }

    [Fact]
    public void A_live_migration_is_no_relocation()
    {
        var state = StartedOnH0();
        state = state.Apply(new VmMigrated("a", T0.AddMinutes(1), "migrated", "m1", "h0", "h1", 2));
        state = FailOver(state, "h1", T0.AddMinutes(2));

        Assert.Equal(0, state.RelocationsSince(T0));
    }
}
