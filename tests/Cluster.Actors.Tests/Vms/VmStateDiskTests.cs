using Cluster.Actors.Tests.TestUtils;
using Cluster.Actors.Vms;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Tests.Vms;

public class VmStateDiskTests
{
    private static readonly DateTime Now = new(2026, 12, 6, 7, 0, 0, DateTimeKind.Utc);
    private const string IdA = "11111111-1111-1111-1111-111111111111";
    private const string IdB = "22222222-2222-2222-2222-222222222222";

    private static VmState Started()
    {
        var spec = Specs.Of("a") with { Disks = [new DiskSpec("/shared/a.img"), new DiskSpec("/shared/b.img", ReadOnly: true)] };
        var state = VmState.Absent;
        foreach (var command in new IVmCommand[] { new CreateVm(spec), new StartVm("a") })
            state = state.Decide(command, Now).Events.Aggregate(state, (s, e) => s.Apply(e));
        return state;
    }

    [Fact]
    public void The_first_start_records_each_disks_identity_in_the_spec()
    {
        var state = Started();
        var bound = state.BindDisks([IdA, IdB], Now);

        state = state.Apply(bound!);

        Assert.Equal([IdA, IdB], state.Spec!.Disks.Select(d => d.Identity));
        Assert.True(state.Spec.Disks[1].ReadOnly);
        Assert.Contains("/shared/a.img = " + IdA, bound!.Reason);
        Assert.Equal(VmStatus.Running, state.Status);
    }

    [Fact]
    public void Records_nothing_once_every_disk_has_its_identity()
    {
        var state = Started();
        state = state.Apply(state.BindDisks([IdA, IdB], Now)!);
        Assert.Null(state.BindDisks([IdA, IdB], Now));
    }

    [Fact]
    public void Records_nothing_for_a_count_that_does_not_match_the_spec() => Assert.Null(Started().BindDisks([IdA], Now));

    [Fact]
    public void Keeps_the_identities_through_a_snapshot()
    {
        var state = Started();
        state = state.Apply(state.BindDisks([IdA, IdB], Now)!);
        Assert.Equal([IdA, IdB], VmState.FromSnapshot(state.ToSnapshot(), 100).Spec!.Disks.Select(d => d.Identity));
    }

    [Fact]
    public void Binding_leaves_the_vms_since_and_reason_alone()
    {
        var state = Started();
        var after = state.Apply(new VmDisksBound("a", Now.AddSeconds(5), "bound", [IdA, IdB]));
        Assert.Equal((state.Since, state.Reason), (after.Since, after.Reason));
    }
}
