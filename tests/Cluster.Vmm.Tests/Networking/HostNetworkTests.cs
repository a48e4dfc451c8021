using Cluster.Vmm.Networking;
using Xunit;

namespace Cluster.Vmm.Tests.Networking;

/// <summary>
/// Host networks built with the real tools (ip, nft, dnsmasq) inside network namespaces: hosts, guests (busybox's DHCP
/// client on a veth joined to the network's bridge, as a VM's tap is) and an outside world.
/// </summary>
public sealed class HostNetworkTests : IDisposable
{
    private readonly NetnsRig _rig = new();

    public void Dispose() => _rig.Dispose();

    [HostNetFact]
    public void A_nat_network_leases_the_assigned_address_and_masquerades_to_a_host_that_has_no_route_back()
    {
        var host = _rig.Namespace("h");
        var outside = _rig.Namespace("o");
        var guest = _rig.Namespace("v1");
        _rig.Link(host, "uplink", outside, "eth0", "192.0.2.1/24", "192.0.2.2/24");
        var spec = new HostNetworkSpec("natnet", NetworkMode.Nat, Ipv4Subnet.Parse("10.88.0.0/24"));
        var network = _rig.Track(new HostNetwork(spec, new HostCommands(host), _rig.Directory));

        network.Apply(new Dictionary<string, string> { ["52:54:00:aa:00:01"] = "10.88.0.9" });
        var (address, mtu) = _rig.Guest(guest, "52:54:00:aa:00:01", host, spec.BridgeName);

        Assert.Equal(("10.88.0.9", "1500"), (address, mtu));
        Assert.True(_rig.Ping(guest, "10.88.0.1"), "the gateway does not answer");
        // The outside host has no route to 10.88.0.0/24: only a masqueraded ping can be answered.
        Assert.True(_rig.Ping(guest, "192.0.2.2"), "the outside host does not answer: no masquerade");

        network.Remove();

        Assert.NotEqual(0, _rig.Try($"ip -n {host} link show dev {spec.BridgeName}"));
        Assert.DoesNotContain(spec.TableName, _rig.Sh($"ip netns exec {host} nft list tables"));
        Assert.False(network.Serving);
        Assert.False(_rig.Ping(guest, "192.0.2.2"));
    }

    [HostNetFact]
    public void Guests_on_two_hosts_share_an_overlay_segment_with_the_mtu_for_vxlan_and_a_stranger_s_vxlan_is_dropped()
    {
        var h1 = _rig.Namespace("h1");
        var h2 = _rig.Namespace("h2");
        var stranger = _rig.Namespace("s");
        var underlay = _rig.Namespace("u");
        _rig.Sh($"ip -n {underlay} link add sw type bridge && ip -n {underlay} link set sw up");
        foreach (var (ns, address) in new[] { (h1, "198.51.100.1/24"), (h2, "198.51.100.2/24"), (stranger, "198.51.100.3/24") })
        {
            var port = "u" + ns[^2..];
            _rig.Link(ns, "eth0", underlay, port, address);
            _rig.Sh($"ip -n {underlay} link set {port} master sw");
        }
        var spec = new HostNetworkSpec("overlay1", NetworkMode.Overlay, Ipv4Subnet.Parse("10.77.0.0/24"), Vni: 4242);
        var leases = new Dictionary<string, string> { ["52:54:00:bb:00:01"] = "10.77.0.11", ["52:54:00:bb:00:02"] = "10.77.0.12" };
        var n1 = _rig.Track(new HostNetwork(spec, new HostCommands(h1), Path.Combine(_rig.Directory, "h1")));
        var n2 = _rig.Track(new HostNetwork(spec, new HostCommands(h2), Path.Combine(_rig.Directory, "h2")));
        n1.Apply(leases, "198.51.100.1", ["198.51.100.2"]);
        n2.Apply(leases, "198.51.100.2", ["198.51.100.1"]);

        var v1 = _rig.Guest(_rig.Namespace("v1"), "52:54:00:bb:00:01", h1, spec.BridgeName);
        var v2 = _rig.Guest(_rig.Namespace("v2"), "52:54:00:bb:00:02", h2, spec.BridgeName);

        Assert.Equal(("10.77.0.11", "1450"), v1);
        Assert.Equal(("10.77.0.12", "1450"), v2);
        Assert.True(_rig.Ping($"{h1[..^2]}v1", "10.77.0.12"), "the guests do not reach each other over the overlay");
        Assert.True(_rig.Ping($"{h1[..^2]}v1", "10.77.0.1"), "the local gateway does not answer");

        // A stranger on the underlay sends VXLAN with the same VNI to host 1: the rule drops it, and nothing reaches the guest.
        _rig.Sh($"ip -n {stranger} link add vx type vxlan id 4242 dstport 4789 local 198.51.100.3 remote 198.51.100.1 && " +
                $"ip -n {stranger} addr add 10.77.0.50/24 dev vx && ip -n {stranger} link set vx up");
        Assert.False(_rig.Ping(stranger, "10.77.0.11"));
        var input = _rig.Sh($"ip netns exec {h1} nft list chain inet {spec.TableName} input");
        Assert.Matches(@"counter packets [1-9]", input);
    }

    [Fact]
    public void Bad_specs_are_refused_with_every_reason()
    {
        var e = Assert.Throws<NetworkSetupException>(() =>
            new HostNetwork(new HostNetworkSpec("Bad_Name", NetworkMode.Overlay, null, Vni: 0), new HostCommands(), Path.GetTempPath()));

        Assert.Contains("network name 'Bad_Name'", e.Message);
        Assert.Contains("needs a subnet", e.Message);
        Assert.Contains("VNI 0", e.Message);
        Assert.Contains("host bits set", Assert.Throws<FormatException>(() => Ipv4Subnet.Parse("10.0.0.1/24")).Message);
        Assert.Contains("between 8 and 30", Assert.Throws<FormatException>(() => Ipv4Subnet.Parse("10.0.0.0/31")).Message);
        Assert.True(Ipv4Subnet.Parse("10.0.0.0/16").Overlaps(Ipv4Subnet.Parse("10.0.5.0/24")));
        Assert.False(Ipv4Subnet.Parse("10.0.0.0/24").Overlaps(Ipv4Subnet.Parse("10.0.1.0/24")));
    }

    [HostNetFact]
    public void A_bridge_network_on_a_missing_bridge_says_so()
    {
        var host = _rig.Namespace("h");
        var network = new HostNetwork(new HostNetworkSpec("lan", NetworkMode.Bridge, null, ExistingBridge: "br-nope"), new HostCommands(host), _rig.Directory);

        var e = Assert.Throws<NetworkSetupException>(() => network.Apply(new Dictionary<string, string>()));

        Assert.Contains("'br-nope' does not exist", e.Message);
    }
}
