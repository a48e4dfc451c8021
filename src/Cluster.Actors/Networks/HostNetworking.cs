using System.Security.Cryptography;
using System.Text;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Vms;
using Cluster.Vmm;
using Cluster.Vmm.Networking;
using NetworkMode = Cluster.Contracts.Networks.NetworkMode;
using VmmMode = Cluster.Vmm.Networking.NetworkMode;

namespace Cluster.Actors.Networks;

/// <summary>
/// The host part of the cluster's networks on this node: before a guest with NICs is created here (a boot or an
/// incoming migration), <see cref="Prepare"/> sets up each NIC's network on this host with <see cref="HostNetwork"/>
/// (the bridge, dnsmasq with the cluster's leases, the rules; an overlay's VXLAN device with the other hosts as peers)
/// and a tap per NIC, named from the VM id and the NIC's index (<see cref="TapName(string, int)"/>), joined to the network's bridge
/// with its MTU; the VMM opens that tap by name. <see cref="Reconcile"/> follows the registry and the membership: changed
/// leases and overlay peers are applied, a deleted VM's taps removed, and a deleted network's host part and taps taken down.
/// Every tap is guarded against spoofing (<see cref="TapGuard"/>): only its NIC's MAC and address leave it. Needs root and the tools (ip, bridge, nft, dnsmasq):
/// without them a guest with NICs is refused with the reason.
/// </summary>
public sealed class HostNetworking
{
    private readonly HostCommands _commands;
    private readonly string _stateDirectory;
    private readonly string _local;
    private readonly Func<IReadOnlyList<string>> _peers;
    private readonly NetworkView _view;
    private readonly Func<bool> _privileged;
    private readonly string? _tapUser;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, HostPart> _realised = new(StringComparer.Ordinal);
    private readonly TapGuard _guard;

    /// <param name="commands">Where the tools run.</param>
    /// <param name="stateDirectory">dnsmasq's files (its folders must be traversable by nobody: a folder under /run).</param>
    /// <param name="local">This host's underlay address (an overlay's VXLAN source).</param>
    /// <param name="peers">The other hosts' underlay addresses, asked each time an overlay is set up.</param>
    /// <param name="view">This node's copy of the cluster's networks.</param>
    /// <param name="privileged">Whether this process may set up host networks (root); null: <see cref="Environment.IsPrivilegedProcess"/>.</param>
    /// <param name="tapUser">The user that owns the taps (VMM workers that run as another user open them by name); null: root.</param>
    public HostNetworking(HostCommands commands, string stateDirectory, string local, Func<IReadOnlyList<string>> peers, NetworkView view,
        Func<bool>? privileged = null, string? tapUser = null)
    {
        _tapUser = tapUser;
        _commands = commands;
        _stateDirectory = stateDirectory;
        _local = local;
        _peers = peers;
        _view = view;
        _privileged = privileged ?? (() => Environment.IsPrivilegedProcess);
        _guard = new TapGuard(commands);
    }

    private static volatile string? s_tapHost;

    /// <summary>
    /// Makes this process's tap names depend on its node's address too (<see cref="TapName(string, int, string?)"/>), so that
    /// nodes sharing one network namespace (several nodes on one machine, their taps on one bridge) never ask for the same
    /// tap: a live migration between two of them opens the target's tap while the source's is still open. Set once, when
    /// the node composes its host networking.
    /// </summary>
    public static void NameTapsFor(string host) => s_tapHost = host;

    /// <summary>The tap of NIC <paramref name="index"/> of <paramref name="vmId"/> on this process's node (<see cref="NameTapsFor"/>).</summary>
    public static string TapName(string vmId, int index) => TapName(vmId, index, s_tapHost);

    /// <summary>The tap of NIC <paramref name="index"/> of <paramref name="vmId"/> on the node at <paramref name="host"/> (null: no node
    /// named): "cht", 8 hex digits of the hash of the id (and host), the index (at most 15 characters).</summary>
    public static string TapName(string vmId, int index, string? host) =>
        $"cht{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(host is null ? vmId : $"{vmId}@{host}")))[..8]}{index:x}";

    /// <summary>The networks this host has set up now, by name.</summary>
    public IReadOnlyList<string> Realised
    {
        get
        {
            lock (_gate)
                return [.. _realised.Keys.Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>Sets up the host part of each NIC's network and its tap, joined to the network's bridge.</summary>
    /// <exception cref="VmmException">a network unknown here, no root, missing tools, or a command that failed: the reason.</exception>
    public void Prepare(VmSpec spec)
    {
        if (spec.Nics.Count == 0)
            return;
        var book = _view.Current;
        var networks = spec.Nics.Select((nic, i) => book.Find(nic.Network)
            ?? throw new VmmException($"VM {spec.Id}: NIC {i}'s network '{nic.Network}' is not known on this host (yet)", "network-setup")).ToList();
        if (!_privileged())
            throw new VmmException($"VM {spec.Id} has NICs: setting up their host networks needs root, and this node does not run as root", "network-setup");
        foreach (var network in networks.Select(n => n.Spec).DistinctBy(n => n.Name))
        {
            if (HostNetwork.MissingTools(ModeOf(network.Mode)) is { Count: > 0 } missing)
                throw new VmmException($"VM {spec.Id}: network '{network.Name}' needs {string.Join(", ", missing)} on this host " +
                    "(apt-get install iproute2 nftables dnsmasq-base)", "network-setup");
        }
        try
        {
            lock (_gate)
            {
                for (int i = 0; i < spec.Nics.Count; i++)
                    AddTap(Ensure(networks[i]), networks[i].Spec, spec.Id, TapName(spec.Id, i), spec.Nics[i]);
            }
        }
        catch (NetworkSetupException e)
        {
            throw new VmmException($"VM {spec.Id}: {e.Message}", "network-setup", inner: e);
        }
    }

    /// <summary>
    /// Brings this host's networks in line with <paramref name="book"/> and the membership: changed leases served, changed
    /// overlay peers set, the taps of VMs that no longer hold an address on a network (deleted) removed, deleted networks
    /// taken down with their taps. Runs nothing when nothing changed.
    /// </summary>
    /// <exception cref="NetworkSetupException">a command failed.</exception>
    public void Reconcile(NetworkBook book)
    {
        lock (_gate)
        {
            foreach (var (name, realised) in _realised.ToList())
            {
                if (book.Find(name) is not { } info)
                {
                    foreach (var tap in realised.Taps.Keys)
                        RemoveTap(tap);
                    realised.Host.Remove();
                    _realised.Remove(name);
                    if (_realised.Count == 0 && Directory.Exists(_stateDirectory) && !Directory.EnumerateFileSystemEntries(_stateDirectory).Any())
                        Directory.Delete(_stateDirectory);
                    continue;
                }
                foreach (var (tap, vmId) in realised.Taps.Where(t => info.Addresses.All(a => a.VmId != t.Value)).ToList())
                {
                    RemoveTap(tap);
                    realised.Taps.Remove(tap);
                }
                var leases = Leases(info);
                if (!leases.OrderBy(l => l.Key).SequenceEqual(realised.Leases.OrderBy(l => l.Key)))
                {
                    realised.Host.SetLeases(leases);
                    realised.Leases = leases;
                }
                if (info.Spec.Mode == NetworkMode.Overlay && Peers() is var peers && !peers.SequenceEqual(realised.Peers))
                {
                    realised.Host.SetPeers(peers);
                    realised.Peers = peers;
                }
            }
        }
    }

    /// <summary>
    /// Removes the taps of <paramref name="vmId"/> (and their guards): its guest stopped or left this host. The host
    /// networks stay (other guests, or the VM's next start, use them); a later <see cref="Prepare"/> makes the taps again.
    /// </summary>
    public void Release(string vmId)
    {
        if (!_privileged())
            return;
        lock (_gate)
        {
            foreach (var realised in _realised.Values)
            {
                foreach (var (tap, _) in realised.Taps.Where(t => t.Value == vmId).ToList())
                {
                    RemoveTap(tap);
                    realised.Taps.Remove(tap);
                }
            }
            // Taps made by an earlier incarnation of this node (its guest was re-attached) are known only by their names.
            var prefix = TapName(vmId, 0)[..^1];
            var (exit, links, _) = _commands.TryRun("ip", ["-o", "link", "show"]);
            if (exit != 0)
                return;
            foreach (var line in links.Split('\n'))
            {
                var name = line.Split(':', 3) is [_, var n, _] ? n.Trim().Split('@')[0] : "";
                if (name.Length == prefix.Length + 1 && name.StartsWith(prefix, StringComparison.Ordinal))
                    RemoveTap(name);
            }
        }
    }

    private HostPart Ensure(NetworkInfo info)
    {
        if (!_realised.TryGetValue(info.Spec.Name, out var realised))
        {
            var spec = info.Spec;
            var hostSpec = new HostNetworkSpec(spec.Name, ModeOf(spec.Mode), spec.Subnet is null ? null : Ipv4Subnet.Parse(spec.Subnet), spec.Bridge,
                spec.Vni, spec.Mtu);
            realised = new HostPart(new HostNetwork(hostSpec, _commands, _stateDirectory));
            _realised[spec.Name] = realised;
        }
        var overlay = info.Spec.Mode == NetworkMode.Overlay;
        realised.Leases = Leases(info);
        realised.Peers = overlay ? Peers() : [];
        realised.Host.Apply(realised.Leases, overlay ? _local : null, overlay ? realised.Peers : null);
        return realised;
    }

    private List<string> Peers() => [.. _peers().Where(p => p != _local).Order(StringComparer.Ordinal)];

    private void AddTap(HostPart realised, NetworkSpec network, string vmId, string tap, NicSpec nic)
    {
        if (_commands.TryRun("ip", ["link", "show", "dev", tap]).Exit != 0)
            _commands.Run("ip", ["tuntap", "add", "dev", tap, "mode", "tap", "vnet_hdr", .. _tapUser is null ? Array.Empty<string>() : ["user", _tapUser]]);
        // The guard first: the tap joins the bridge only once its frames are checked.
        _guard.Add(tap, nic.Mac, nic.Ip);
        _commands.Run("ip", ["link", "set", "dev", tap, "master", realised.Host.Spec.BridgeName, "mtu", $"{network.Mtu}", "up"]);
        realised.Taps[tap] = vmId;
    }

    private void RemoveTap(string tap)
    {
        _commands.TryRun("ip", ["link", "del", "dev", tap]);
        _guard.Remove(tap);
    }

    private static Dictionary<string, string> Leases(NetworkInfo info) =>
        info.Addresses.Where(a => a.Ip is not null).ToDictionary(a => a.Mac, a => a.Ip!, StringComparer.Ordinal);

    private static VmmMode ModeOf(NetworkMode mode) => mode switch
    {
        NetworkMode.Nat => VmmMode.Nat,
        NetworkMode.Bridge => VmmMode.Bridge,
        _ => VmmMode.Overlay,
    };

    /// <summary>A network this host set up: its host part, its taps (tap -> VM) and the leases and peers last applied.</summary>
    private sealed class HostPart(HostNetwork host)
    {
        public HostNetwork Host { get; } = host;

        public Dictionary<string, string> Taps { get; } = new(StringComparer.Ordinal);

        public IReadOnlyDictionary<string, string> Leases { get; set; } = new Dictionary<string, string>();

        public IReadOnlyList<string> Peers { get; set; } = [];
    }
}
