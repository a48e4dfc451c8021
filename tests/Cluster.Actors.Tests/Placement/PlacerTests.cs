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

    private const string IdA = "11111111-1111-1111-1111-111111111111";
    private const string IdB = "22222222-2222-2222-2222-222222222222";

    private static VmSpec WithDisk(string id, string? identity = null) =>
        Spec(id) with { Disks = [new DiskSpec("/shared/a.qcow2", Identity: identity)] };

    private static HostView Sees(HostView host, bool exists = true, string? identity = IdA) =>
        host.Seeing([new DiskSeen("/shared/a.qcow2", exists, identity)]);

    [Fact]
    public void Never_chooses_a_host_that_does_not_see_the_disk_even_when_it_is_the_emptiest()
    {
        HostView[] hosts = [Sees(Host("h1", vms: new PlacedVm("x", 1, 32 << 20, null))), Sees(Host("h2"), exists: false)];
        Assert.Equal("h1", Placer.Choose(WithDisk("v"), hosts, Spread).Host);
    }

    [Fact]
    public void Never_chooses_a_host_that_has_not_reported_on_the_disk_path()
    {
        HostView[] hosts = [Sees(Host("h1", vms: new PlacedVm("x", 1, 32 << 20, null))), Host("h2")];
        Assert.Equal("h1", Placer.Choose(WithDisk("v"), hosts, Spread).Host);
    }

    [Fact]
    public void Refuses_naming_the_disk_path_when_no_host_sees_it()
    {
        var result = Placer.Choose(WithDisk("v"), [Sees(Host("h1"), exists: false), Sees(Host("h2"), exists: false)], Spread);
        Assert.Equal("disks", result.Resource);
        Assert.Contains("h1 does not see disk /shared/a.qcow2", result.Message);
        Assert.Contains("h2 does not see disk /shared/a.qcow2", result.Message);
    }

    [Fact]
    public void Refuses_a_namesake_naming_the_path_and_both_identities()
    {
        var result = Placer.Choose(WithDisk("v", identity: IdA), [Sees(Host("h1"), identity: IdB)], Spread);
        Assert.Equal("disks", result.Resource);
        Assert.Contains("/shared/a.qcow2", result.Message);
        Assert.Contains(IdA, result.Message);
        Assert.Contains(IdB, result.Message);
    }

    [Fact]
    public void Chooses_the_host_whose_file_carries_the_vms_identity_over_a_namesake()
    {
        HostView[] hosts = [Sees(Host("h1"), identity: IdB), Sees(Host("h2", vms: new PlacedVm("x", 1, 32 << 20, null)), identity: IdA)];
        Assert.Equal("h2", Placer.Choose(WithDisk("v", identity: IdA), hosts, Spread).Host);
    }

    [Fact]
    public void Takes_any_host_that_sees_the_file_before_the_vm_recorded_its_identity()
    {
        HostView[] hosts = [Sees(Host("h1"), identity: null), Sees(Host("h2", vms: new PlacedVm("x", 1, 32 << 20, null)), identity: IdB)];
        Assert.Equal("h1", Placer.Choose(WithDisk("v"), hosts, Spread).Host);
    }

    [Fact]
    public void Still_applies_the_other_rules_among_the_hosts_that_see_the_disk()
    {
        var result = Placer.Choose(WithDisk("v") with { MemoryBytes = 48 << 20 },
            [Sees(Host("h1", vms: new PlacedVm("x", 1, 32 << 20, null))), Sees(Host("h2"), exists: false)], Spread);
        Assert.Equal("memory", result.Resource);
    }
}
