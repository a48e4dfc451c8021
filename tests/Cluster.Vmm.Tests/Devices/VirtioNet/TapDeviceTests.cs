using Cluster.Vmm.Devices.VirtioNet;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Native;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace Cluster.Vmm.Tests.Devices.VirtioNet;

/// <summary>The tap back-end against the kernel: TUNSETIFF by name, a handed fd, and what it refuses.</summary>
public sealed class TapDeviceTests
{
    [NetFact]
    public void A_tap_opened_by_name_exists_while_open_and_disappears_when_closed()
    {
        string name = NetRig.NewTapName();
        using (var tap = TapDevice.Open(name))
        {
            Assert.Equal(name, tap.Name);
            Assert.True(NetRig.Exists(name));
            Assert.Equal("0x5002", File.ReadAllText($"/sys/class/net/{name}/tun_flags").Trim()); // IFF_TAP | IFF_NO_PI | IFF_VNET_HDR
            Assert.Equal(-1, tap.Read(new byte[2048])); // nothing waiting, and no blocking
        }
        Assert.False(NetRig.Exists(name));
    }

    [NetFact]
    public void A_second_open_of_a_tap_in_use_is_refused_naming_the_reason()
    {
        string name = NetRig.NewTapName();
        using var tap = TapDevice.Open(name);
        var e = Assert.Throws<VmmException>(() => TapDevice.Open(name));
        Assert.Equal("TUNSETIFF", e.Operation);
        Assert.Contains(name, e.Message);
    }

    [NetFact]
    public void A_handed_fd_is_adopted_with_its_name_and_one_that_is_not_a_tap_is_refused()
    {
        string name = NetRig.NewTapName();
        using (var opened = TapDevice.Open(name))
        using (var adopted = TapDevice.Adopt(new SafeFileHandle(opened.Fd, ownsHandle: false)))
            Assert.Equal(name, adopted.Name);
        using var devNull = File.OpenHandle("/dev/null");
        var e = Assert.Throws<VmmException>(() => TapDevice.Adopt(devNull));
        Assert.Contains("not an attached tun/tap", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a-name-far-too-long")]
    [InlineData("with space")]
    [InlineData("a/b")]
    public void Bad_interface_names_are_refused_before_the_kernel_is_asked(string name)
    {
        var e = Assert.Throws<VmmException>(() => TapDevice.Open(name));
        Assert.Equal("tap-open", e.Operation);
    }

    [Theory]
    [InlineData("52:54:00:12:34:56", true)]
    [InlineData("52-54-00-12-34-56", true)]
    [InlineData("01:00:5e:00:00:01", false)] // multicast
    [InlineData("00:00:00:00:00:00", false)]
    [InlineData("52:54:00:12:34", false)]
    [InlineData("52:54:00:12:34:zz", false)]
    public void Macs_are_parsed_and_multicast_ones_refused(string mac, bool ok)
    {
        if (ok) Assert.Equal(6, NicConfig.ParseMac(mac).Length);
        else Assert.Throws<VmmException>(() => NicConfig.ParseMac(mac));
    }

    [Fact]
    public void A_nic_without_a_tap_or_with_an_mtu_out_of_range_is_refused()
    {
        Assert.Contains("neither a tap name nor a tap fd", Assert.Throws<VmmException>(() => new NicConfig("52:54:00:12:34:56").Validate(0)).Message);
        Assert.Contains("MTU 40", Assert.Throws<VmmException>(() => new NicConfig("52:54:00:12:34:56", "ndtapx", 40).Validate(0)).Message);
    }

    [Fact]
    public void The_announcement_is_a_broadcast_rarp_reverse_request_for_the_mac()
    {
        byte[] mac = [0x52, 0x54, 0, 1, 2, 3];
        var f = Announcement.Rarp(mac);
        Assert.Equal(60, f.Length);
        Assert.All(f[..6], b => Assert.Equal(0xff, b));
        Assert.Equal(mac, f[6..12]);
        Assert.Equal(new byte[] { 0x80, 0x35, 0, 1, 8, 0, 6, 4, 0, 3 }, f[12..22]);
        Assert.Equal(mac, f[22..28]);
        Assert.Equal(mac, f[32..38]);
    }
}
