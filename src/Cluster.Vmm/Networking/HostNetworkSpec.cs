using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Cluster.Vmm.Networking;

/// <summary>How a network reaches its VMs on a host (as libvirt's forward modes).</summary>
public enum NetworkMode
{
    /// <summary>A host bridge of its own with a gateway address, DHCP from dnsmasq, masqueraded to the host's uplinks.</summary>
    Nat,

    /// <summary>VMs join an existing host bridge (the physical LAN); the host serves nothing.</summary>
    Bridge,

    /// <summary>A bridge per host joined by VXLAN (one VNI per network) to the other hosts' bridges: one layer-2 segment.</summary>
    Overlay,
}

/// <summary>
/// One network as a host sets it up. Interface names are derived from the network name and fit Linux's 15 characters:
/// <c>chv-NAME</c> for the bridge, <c>chx-NAME</c> for the VXLAN device (a long name is cut and given a hash suffix).
/// </summary>
/// <param name="Name">The network's name: 1-32 of a-z, 0-9 and '-', starting with a letter or digit.</param>
/// <param name="Mode">How the network reaches its VMs.</param>
/// <param name="Subnet">Nat and overlay: the guests' subnet (the first address is the gateway on every host).</param>
/// <param name="ExistingBridge">Bridge mode: the host bridge VMs join.</param>
/// <param name="Vni">Overlay: the VXLAN network identifier (1..16777215).</param>
/// <param name="Mtu">The guests' MTU: 1500, or 1450 on an overlay (VXLAN adds 50 bytes on a 1500-byte underlay).</param>
public sealed partial record HostNetworkSpec(string Name, NetworkMode Mode, Ipv4Subnet? Subnet, string? ExistingBridge = null, int Vni = 0, int? Mtu = null)
{
    /// <summary>The VXLAN UDP port (IANA's).</summary>
    public const int VxlanPort = 4789;

    /// <summary>The MTU guests get.</summary>
    public int GuestMtu => Mtu ?? (Mode == NetworkMode.Overlay ? 1450 : 1500);

    /// <summary>The bridge VMs' taps join.</summary>
    public string BridgeName => Mode == NetworkMode.Bridge ? ExistingBridge! : InterfaceName("chv-");

    /// <summary>The VXLAN device of an overlay.</summary>
    public string VxlanName => InterfaceName("chx-");

    /// <summary>The nftables table of this network (one per network and family).</summary>
    public string TableName => "chv_" + Name.Replace('-', '_');

    /// <summary>
    /// The gateway's MAC: the same on every host (locally administered, from the name), so that on an overlay each host
    /// answers for the gateway address itself and a VM that moves keeps a valid ARP entry (an anycast gateway).
    /// </summary>
    public string GatewayMac
    {
        get
        {
            var h = SHA256.HashData(Encoding.UTF8.GetBytes("gateway:" + Name));
            return $"02:{h[0]:x2}:{h[1]:x2}:{h[2]:x2}:{h[3]:x2}:{h[4]:x2}";
        }
    }

    /// <summary>The reasons this spec cannot be set up (empty when it can).</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (!NamePattern().IsMatch(Name))
            problems.Add($"network name '{Name}': use 1-32 of a-z, 0-9 and '-', starting with a letter or digit");
        if (Mode is NetworkMode.Nat or NetworkMode.Overlay && Subnet is null)
            problems.Add($"a {Mode.ToString().ToLowerInvariant()} network needs a subnet (like 10.88.0.0/24)");
        if (Mode == NetworkMode.Bridge && string.IsNullOrEmpty(ExistingBridge))
            problems.Add("a bridge network needs the host bridge to join (--bridge BR)");
        if (Mode == NetworkMode.Overlay && Vni is < 1 or > 16_777_215)
            problems.Add($"VNI {Vni} is outside 1..16777215");
        if (GuestMtu is < 576 or > 9000)
            problems.Add($"MTU {GuestMtu} is outside 576..9000");
        return problems;
    }

    private string InterfaceName(string prefix)
    {
        if (prefix.Length + Name.Length <= 15)
            return prefix + Name;
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Name)))[..4].ToLowerInvariant();
        return prefix + Name[..(15 - prefix.Length - 5)] + "-" + hash;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,31}$")]
    private static partial Regex NamePattern();
}
