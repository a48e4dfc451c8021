using Cluster.Actors.Tests.TestUtils;
using Cluster.Actors.Vms;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Tests.Vms;

public class VmStateUpdateTests
{
    private static readonly DateTime Now = new(2026, 12, 6, 12, 0, 0, DateTimeKind.Utc);

    private static VmState Apply(VmState state, IVmCommand command)
    {
        var decision = state.Decide(command, Now);
        Assert.Null(decision.Refusal);
        return decision.Events.Aggregate(state, (s, e) => s.Apply(e));
    }

    private static VmState Defined(VmSpec spec) => Apply(VmState.Absent, new CreateVm(spec));

    [Fact]
    public void Replaces_the_spec_of_a_stopped_vm_and_keeps_its_status_and_time()
    {
        var stopped = Apply(Apply(Defined(Specs.Of("a")), new StartVm("a")), new StopVm("a", StopMode.Forced));
        var updated = Apply(stopped, new UpdateVmSpec(Specs.Of("a") with { Vcpus = 2, MemoryBytes = 32UL << 20 }));
        Assert.Equal((2, 32UL << 20), (updated.Spec!.Vcpus, updated.Spec.MemoryBytes));
        Assert.Equal((VmStatus.Stopped, stopped.Since, stopped.Reason), (updated.Status, updated.Since, updated.Reason));
        Assert.IsType<VmSpecUpdated>(updated.Events[^1]);
    }

    [Fact]
    public void Accepts_the_same_spec_without_an_event()
    {
        var state = Defined(Specs.Of("a") with { Labels = new Dictionary<string, string> { ["zone"] = "a" } });
        var decision = state.Decide(new UpdateVmSpec(Specs.Of("a") with { Labels = new Dictionary<string, string> { ["zone"] = "a" } }), Now);
        Assert.Equal(VmDecision.None, decision);
    }

    [Fact]
    public void Refuses_while_the_vm_runs_or_is_paused()
    {
        var running = Apply(Defined(Specs.Of("a")), new StartVm("a"));
        Assert.Contains("stop it before changing its spec",
            Assert.IsType<NotAllowed>(running.Decide(new UpdateVmSpec(Specs.Of("a") with { Vcpus = 2 }), Now).Refusal).Reason);
        var paused = Apply(running, new PauseVm("a"));
        Assert.IsType<NotAllowed>(paused.Decide(new UpdateVmSpec(Specs.Of("a") with { Vcpus = 2 }), Now).Refusal);
    }

    [Fact]
    public void Refuses_a_nic_change_and_keeps_the_assigned_macs_when_they_are_left_out()
    {
        var state = Defined(Specs.Of("a") with { Nics = [new NicSpec("lan", "52:54:00:00:00:01", "10.0.0.5")] });
        Assert.Contains("not updatable",
            Assert.IsType<NotAllowed>(state.Decide(new UpdateVmSpec(Specs.Of("a") with { Nics = [new NicSpec("dmz")] }), Now).Refusal).Reason);
        var updated = Apply(state, new UpdateVmSpec(Specs.Of("a") with { Vcpus = 2, Nics = [new NicSpec("lan")] }));
        Assert.Equal(new NicSpec("lan", "52:54:00:00:00:01", "10.0.0.5"), Assert.Single(updated.Spec!.Nics));
    }

    [Fact]
    public void Keeps_the_identity_of_a_disk_whose_path_stays()
    {
        var state = Defined(Specs.Of("a") with { Disks = [new DiskSpec("/srv/a.img")] });
        state = state.Apply(new VmDisksBound("a", Now, "bound", ["id-1"]));
        var updated = Apply(state, new UpdateVmSpec(Specs.Of("a") with { Disks = [new DiskSpec("/srv/a.img"), new DiskSpec("/srv/b.img")] }));
        Assert.Equal(["id-1", null], updated.Spec!.Disks.Select(d => d.Identity));
    }

    [Fact]
    public void Refuses_an_update_of_a_vm_that_does_not_exist() =>
        Assert.IsType<VmNotFound>(VmState.Absent.Decide(new UpdateVmSpec(Specs.Of("a")), Now).Refusal);

    [Fact]
    public void Replays_the_updated_spec_from_the_events()
    {
        var updated = Apply(Defined(Specs.Of("a")), new UpdateVmSpec(Specs.Of("a") with { Vcpus = 3 }));
        var replayed = updated.Events.Aggregate(VmState.Absent, (s, e) => s.Apply(e));
        Assert.Equal(3, replayed.Spec!.Vcpus);
        Assert.Equal(VmStatus.Defined, replayed.Status);
    }
}
