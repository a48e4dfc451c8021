using Cluster.Actors.Placement;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Tests.Placement;

public class PlacementBoardTests
{
    private static HostStatus Status(string host) =>
        new(host, 2, 64 << 20, new Dictionary<string, string>(), "test", [], [], 0, 0, 0, DateTime.UtcNow);

    private static VmSpec Spec(string id) =>
        new(id, id, 1, 4 << 20, new BuiltInImage("counter"), [], new Dictionary<string, string>(), null, RestartPolicy.Never);

    [Fact]
    public void Unschedulable_hosts_are_marked_in_the_views_and_not_chosen()
    {
        var board = new PlacementBoard();
        board.Report(Status("h1"));
        board.Report(Status("h2"));
        board.SetUnschedulable(["h1"]);
        var views = board.Views(TimeSpan.FromSeconds(30));
        Assert.Equal([true, false], views.Select(v => v.Unschedulable));
        Assert.Equal("h2", Placer.Choose(Spec("v"), views, PlacementSettings.Default).Host);
        board.SetUnschedulable(["h1", "h2"]);
        Assert.Equal("unschedulable", Placer.Choose(Spec("v"), board.Views(TimeSpan.FromSeconds(30)), PlacementSettings.Default).Resource);
        board.SetUnschedulable([]);
        Assert.Equal("h1", Placer.Choose(Spec("v"), board.Views(TimeSpan.FromSeconds(30)), PlacementSettings.Default).Host);
    }

    [Fact]
    public void Views_carry_what_each_host_reported_at_disk_paths_so_a_restart_elsewhere_skips_hosts_without_the_image()
    {
        var board = new PlacementBoard();
        board.Report(Status("h1") with { Disks = [new DiskSeen("/shared/a.img", false, null)] });
        board.Report(Status("h2") with { Disks = [new DiskSeen("/shared/a.img", true, "11111111-1111-1111-1111-111111111111")] });
        var spec = Spec("v") with { Disks = [new DiskSpec("/shared/a.img", Identity: "11111111-1111-1111-1111-111111111111")] };

        var views = board.Views(TimeSpan.FromSeconds(30));

        Assert.False(views[0].Disks["/shared/a.img"].Exists);
        Assert.Equal("h2", Placer.Choose(spec, views, PlacementSettings.Default).Host);
    }

    [Fact]
    public void Lists_every_decision_it_knows()
    {
        var board = new PlacementBoard();
        board.Decide(new PlacementDecided(Spec("a"), "h1"));
        board.Decide(new PlacementDecided(Spec("b"), "h2"));
        Assert.Equal(["a", "b"], board.Decisions().Select(d => d.VmId).Order());
    }
}
