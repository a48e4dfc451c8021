using Cluster.Contracts.Networks;
using Cluster.Contracts.Tests.TestUtils;
using Cluster.Contracts.Validation;

namespace Cluster.Contracts.Tests.Validation;

public sealed class NetworkSpecValidatorTests
{
    [Theory]
    [InlineData(NetworkMode.Nat, "10.88.0.0/24", null)]
    [InlineData(NetworkMode.Overlay, "10.89.0.0/16", null)]
    [InlineData(NetworkMode.Bridge, null, "br0")]
    [InlineData(NetworkMode.Bridge, "192.168.1.0/24", "br0")]
    public void Accepts_each_mode_with_what_it_needs(NetworkMode mode, string? subnet, string? bridge) =>
        Assert.Null(NetworkSpecValidator.Validate(new NetworkSpec("lan", mode, subnet, bridge)));

    [Theory]
    [InlineData("")]
    [InlineData("Upper")]
    [InlineData("-dash")]
    [InlineData("has space")]
    [InlineData("a_b")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")]
    public void Refuses_bad_names_naming_the_name_field(string name) =>
        Assert.Equal("name", NetworkSpecValidator.Validate(new NetworkSpec(name, NetworkMode.Nat, "10.88.0.0/24"))?.Field);

    [Theory]
    [InlineData("10.88.0.0", "CIDR")]
    [InlineData("10.88.0.1/24", "host bits set (did you mean 10.88.0.0/24?)")]
    [InlineData("10.88.0.0/31", "between 8 and 30")]
    [InlineData("10.88.0.0/7", "between 8 and 30")]
    [InlineData("fd00::/64", "CIDR")]
    [InlineData("10.88/16", "CIDR")]
    [InlineData("300.1.1.0/24", "CIDR")]
    public void Refuses_subnets_that_are_not_ipv4_cidr_with_the_reason(string subnet, string reason)
    {
        var failure = NetworkSpecValidator.Validate(new NetworkSpec("lan", NetworkMode.Nat, subnet));
        Assert.Equal("subnet", failure?.Field);
        Assert.Contains(reason, failure!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nat_and_overlay_need_a_subnet_and_bridge_mode_needs_a_bridge()
    {
        Assert.Equal("subnet", NetworkSpecValidator.Validate(new NetworkSpec("lan", NetworkMode.Nat))?.Field);
        Assert.Equal("subnet", NetworkSpecValidator.Validate(new NetworkSpec("lan", NetworkMode.Overlay))?.Field);
        Assert.Equal("bridge", NetworkSpecValidator.Validate(new NetworkSpec("lan", NetworkMode.Bridge))?.Field);
        Assert.Equal("bridge", NetworkSpecValidator.Validate(new NetworkSpec("lan", NetworkMode.Nat, "10.88.0.0/24", "br0"))?.Field);
        Assert.Equal("bridge", NetworkSpecValidator.Validate(new NetworkSpec("lan", NetworkMode.Bridge, null, "br0;rm"))?.Field);
    }

    [Fact]
    public void The_vni_is_the_clusters_to_assign_and_the_mtu_stays_in_range()
    {
        Assert.Equal("vni", NetworkSpecValidator.Validate(new NetworkSpec("o", NetworkMode.Overlay, "10.88.0.0/24", Vni: 42))?.Field);
        Assert.Equal("mtu", NetworkSpecValidator.Validate(new NetworkSpec("o", NetworkMode.Overlay, "10.88.0.0/24", Mtu: 100))?.Field);
        Assert.Null(NetworkSpecValidator.Validate(new NetworkSpec("o", NetworkMode.Overlay, "10.88.0.0/24", Mtu: 1400)));
        Assert.Equal("mode", NetworkSpecValidator.Validate(new NetworkSpec("o", (NetworkMode)9, "10.88.0.0/24"))?.Field);
    }

    [Theory]
    [InlineData("52:54:00:12:34:5", "six hex octets")]
    [InlineData("52:54:00:12:34:zz", "six hex octets")]
    [InlineData("01:00:5e:00:00:01", "multicast")]
    [InlineData("00:00:00:00:00:00", "all zeroes")]
    public void Refuses_nic_macs_that_are_malformed_multicast_or_zero(string mac, string reason)
    {
        var failure = NetworkSpecValidator.CheckNics([new NicSpec("lan", mac)]);
        Assert.Equal("nics", failure?.Field);
        Assert.Contains(reason, failure!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_a_mac_given_twice_a_bad_network_name_and_too_many_nics()
    {
        Assert.Contains("given twice", NetworkSpecValidator.CheckNics([new NicSpec("a", "52:54:00:00:00:01"), new NicSpec("b", "52-54-00-00-00-01")])!.Message,
            StringComparison.Ordinal);
        Assert.Contains("not a valid network name", NetworkSpecValidator.CheckNics([new NicSpec("Bad Net")])!.Message, StringComparison.Ordinal);
        Assert.Contains("more than", NetworkSpecValidator.CheckNics([.. Enumerable.Range(0, 9).Select(_ => new NicSpec("a"))])!.Message,
            StringComparison.Ordinal);
        Assert.Null(NetworkSpecValidator.CheckNics([new NicSpec("a"), new NicSpec("a", "52:54:00:00:00:01")]));
    }

    [Fact]
    public void The_vm_spec_validator_checks_the_nics_too()
    {
        var validator = new VmSpecValidator(Specs.Limits);
        Assert.Equal("nics", validator.Validate(Specs.Hello() with { Nics = [new NicSpec("lan", "ff:ff:ff:ff:ff:ff")] })?.Field);
        Assert.Null(validator.Validate(Specs.Hello() with { Nics = [new NicSpec("lan")] }));
    }
}
