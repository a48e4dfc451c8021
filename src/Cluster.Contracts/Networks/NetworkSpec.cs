using MessagePack;

namespace Cluster.Contracts.Networks;

/// <summary>How a network reaches its VMs on each host (Contracts' own names; the VMM's host networks have their own enum).</summary>
public enum NetworkMode
{
    /// <summary>A bridge per host with the subnet's gateway, DHCP with the cluster's leases, masqueraded to the host's uplinks.</summary>
    Nat = 0,
    /// <summary>VMs join an existing host bridge (the physical LAN).</summary>
    Bridge = 1,
    /// <summary>A bridge per host joined to the other hosts' by VXLAN: one layer-2 segment across the cluster.</summary>
    Overlay = 2,
}

/// <summary>
/// A network of the cluster, persisted by the network registry. Checked by <see cref="Validation.NetworkSpecValidator"/>.
/// </summary>
/// <param name="Name">1-32 of a-z, 0-9 and '-', starting with a letter or digit.</param>
/// <param name="Mode">How it reaches its VMs.</param>
/// <param name="Subnet">The guests' IPv4 subnet in CIDR form (prefix 8..30); needed for nat and overlay, optional for
/// bridge (without it, VMs get a MAC and no address from the cluster).</param>
/// <param name="Bridge">Bridge mode: the existing host bridge the VMs' taps join.</param>
/// <param name="Mtu">The guests' MTU: 0 when asked for means the mode's default (1500, 1450 on an overlay).</param>
/// <param name="Vni">Overlay: the VXLAN network identifier, assigned by the cluster (0 when asked for, and for other modes).</param>
[MessagePackObject]
public sealed record NetworkSpec(
    [property: Key(0)] string Name,
    [property: Key(1)] NetworkMode Mode,
    [property: Key(2)] string? Subnet = null,
    [property: Key(3)] string? Bridge = null,
    [property: Key(4)] int Mtu = 0,
    [property: Key(5)] int Vni = 0) : IClusterMessage
{
    /// <summary>The MTU of a network without an overlay.</summary>
    public const int DefaultMtu = 1500;

    /// <summary>The MTU on a VXLAN overlay (VXLAN adds 50 bytes to a 1500-byte underlay).</summary>
    public const int OverlayMtu = 1450;

    /// <summary>The mode's default MTU.</summary>
    public static int DefaultMtuOf(NetworkMode mode) => mode == NetworkMode.Overlay ? OverlayMtu : DefaultMtu;
}

/// <summary>
/// A network interface of a VM: a virtio-net device on a tap joined to <paramref name="Network"/>'s bridge on the host
/// the VM runs on. Written on the command line as <c>network=NAME[,mac=MAC]</c>.
/// </summary>
/// <param name="Network">The network's name.</param>
/// <param name="Mac">The guest's MAC ("52:54:00:12:34:56", unicast); when a create leaves it out, the cluster generates a
/// locally administered one once and records it in the spec, so it stays the VM's across restarts and moves.</param>
/// <param name="Ip">The address the cluster assigned from the network's subnet (its DHCP lease); never given by users,
/// null when the network has no subnet.</param>
/// <param name="Mtu">The network's MTU, recorded with the address (networks do not change); 0 until assigned.</param>
[MessagePackObject]
public sealed record NicSpec(
    [property: Key(0)] string Network,
    [property: Key(1)] string? Mac = null,
    [property: Key(2)] string? Ip = null,
    [property: Key(3)] int Mtu = 0) : IClusterMessage;
