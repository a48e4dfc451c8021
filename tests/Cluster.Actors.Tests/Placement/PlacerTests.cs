using Cluster.Actors.Placement;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Tests.Placement;

public class PlacerTests
{
    private static readonly PlacementSettings Spread = PlacementSettings.Default;

    private static VmSpec Spec(string id, int vcpus = 1, ulong memory = 4 << 20, string? group = null, params (string, string)[] labels) =>
        new(id, id, vcpus, memory, new BuiltInImage("counter"), [], labels.ToDictionary(l => l.Item1, l => l.Item2), group, RestartPolicy.Never);

    private static HostView Host(string name, int vcpus = 2, ulong memory = 64 << 20, string zone = "a", params PlacedVm[] vms) =>
        new(name, vcpus, memory, new Dictionary<string, string> { ["zone"] = zone }, vms);

    [Fact]
    public void Spread_takes_the_emptiest_host_and_pack_the_fullest()
    {
        HostView[] hosts = [Host("h1", vms: new PlacedVm("x", 1, 32 << 20, null)), Host("h2")];
        Assert.Equal("h2", Placer.Choose(Spec("v"), hosts, Spread).Host);
        Assert.Equal("h1", Placer.Choose(Spec("v"), hosts, Spread with { Mode = PlacementMode.Pack }).Host);
    }

    [Fact]
    public void Refuses_naming_memory_when_no_host_has_enough_free()
    {
        var result = Placer.Choose(Spec("v", memory: 128 << 20), [Host("h1"), Host("h2")], Spread);
        Assert.Equal("memory", result.Resource);
        Assert.Null(result.Host);
    }

    [Fact]
    public void Overcommits_vcpus_by_the_ratio_only()
    {
        Assert.Equal("h1", Placer.Choose(Spec("v", vcpus: 8), [Host("h1")], Spread).Host);
        Assert.Equal("vcpus", Placer.Choose(Spec("v", vcpus: 9), [Host("h1")], Spread).Resource);
        Assert.Equal("vcpus", Placer.Choose(Spec("v", vcpus: 3), [Host("h1")], Spread with { VcpuOvercommit = 1.0 }).Resource);
    }

    [Fact]
    public void Honours_required_labels_and_anti_affinity_groups()
    {
        HostView[] hosts = [Host("h1", zone: "a", vms: new PlacedVm("g1", 1, 4 << 20, "g")), Host("h2", zone: "b"), Host("h3", zone: "a")];
        Assert.Equal("h3", Placer.Choose(Spec("v", labels: ("require.zone", "a"), group: "g"), hosts, Spread).Host);
        Assert.Equal("labels", Placer.Choose(Spec("v", labels: ("require.zone", "c")), hosts, Spread).Resource);
        Assert.Equal("anti-affinity", Placer.Choose(Spec("v", group: "g"), [hosts[0]], Spread).Resource);
    }

    [Fact]
    public void A_vm_placed_again_does_not_count_against_itself() =>
        Assert.Equal("h1", Placer.Choose(Spec("v", memory: 64 << 20), [Host("h1", vms: new PlacedVm("v", 1, 64 << 20, null))], Spread).Host);

    [Fact]
    public void Refuses_when_no_host_is_up() =>
        Assert.Equal("hosts", Placer.Choose(Spec("v"), [], Spread).Resource);

    [Fact]
    public void Never_chooses_an_unschedulable_host()
    {
        HostView[] hosts = [Host("h1") with { Unschedulable = true }, Host("h2", vms: new PlacedVm("x", 1, 32 << 20, null))];
        Assert.Equal("h2", Placer.Choose(Spec("v"), hosts, Spread).Host);
        var refused = Placer.Choose(Spec("v"), [hosts[0]], Spread);
        Assert.Equal("unschedulable", refused.Resource);
        Assert.Contains("h1", refused.Message);
    }
}
