using System.Collections.Immutable;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Validation;

namespace Cluster.Actors.Networks;

/// <summary>
/// The cluster's networks as a pure, immutable state: the network registry decides with it (<c>Decide</c> returns the
/// reply and the events to persist; a refusal has none) and applies its events (<see cref="Apply"/>). It refuses a
/// taken name, a subnet that overlaps another network's, NICs on unknown networks or with a MAC the network has, and
/// deleting a network a VM uses; it assigns VNIs, generated MACs and addresses (the lowest free) and keeps them per
/// network, MAC to IP, until the VM is deleted.
/// </summary>
public sealed class NetworkBook
{
    /// <summary>The first VNI the cluster assigns to an overlay.</summary>
    public const int FirstVni = 1000;

    private readonly ImmutableSortedDictionary<string, NetworkSpec> _networks;
    private readonly ImmutableDictionary<string, ImmutableList<NetworkAddress>> _addresses;

    private NetworkBook(ImmutableSortedDictionary<string, NetworkSpec> networks, ImmutableDictionary<string, ImmutableList<NetworkAddress>> addresses)
    {
        _networks = networks;
        _addresses = addresses;
    }

    /// <summary>No networks.</summary>
    public static NetworkBook Empty { get; } = new(ImmutableSortedDictionary.Create<string, NetworkSpec>(StringComparer.Ordinal),
        ImmutableDictionary.Create<string, ImmutableList<NetworkAddress>>(StringComparer.Ordinal));

    /// <summary>Every network with its addresses, by name.</summary>
    public IReadOnlyList<NetworkInfo> Networks => [.. _networks.Keys.Select(Info)];

    /// <summary>One network and its addresses, or null.</summary>
    public NetworkInfo? Find(string name) => name is not null && _networks.ContainsKey(name) ? Info(name) : null;

    /// <summary>The names of the VMs with a NIC on <paramref name="name"/>, sorted.</summary>
    public IReadOnlyList<string> UsersOf(string name) =>
        [.. Addresses(name).Select(a => a.VmId).Distinct().Order(StringComparer.Ordinal)];

    /// <summary>The book after <paramref name="e"/>; an event that does not fit (a known name, an unknown network) changes nothing.</summary>
    public NetworkBook Apply(INetworkEvent e) => e switch
    {
        NetworkCreated c when !_networks.ContainsKey(c.Spec.Name) =>
            new(_networks.Add(c.Spec.Name, c.Spec), _addresses.SetItem(c.Spec.Name, [])),
        NetworkDeleted d when _networks.ContainsKey(d.Name) => new(_networks.Remove(d.Name), _addresses.Remove(d.Name)),
        AddressAssigned a when _networks.ContainsKey(a.Network) =>
            new(_networks, _addresses.SetItem(a.Network, Addresses(a.Network).Add(new NetworkAddress(a.VmId, a.Mac, a.Ip)))),
        AddressesReleased r => new(_networks, _addresses.ToImmutableDictionary(p => p.Key, p => p.Value.RemoveAll(a => a.VmId == r.VmId),
            StringComparer.Ordinal)),
        _ => this,
    };

    /// <summary>Decides a new network: checked, its name free, its subnet overlapping no other's, its MTU and VNI decided.</summary>
    public (object Reply, IReadOnlyList<INetworkEvent> Events) Decide(CreateNetwork create)
    {
        if (NetworkSpecValidator.Validate(create?.Spec) is { } failure)
            return (failure, []);
        var spec = create!.Spec;
        if (_networks.ContainsKey(spec.Name))
            return (new NetworkRefused(spec.Name, $"a network named '{spec.Name}' exists"), []);
        if (spec.Subnet is not null)
        {
            var subnet = SubnetText.Parse(spec.Subnet, out _)!;
            foreach (var other in _networks.Values.Where(n => n.Subnet is not null))
            {
                if (subnet.Overlaps(SubnetText.Parse(other.Subnet, out _)!))
                    return (new NetworkRefused(spec.Name, $"subnet {spec.Subnet} overlaps network '{other.Name}' ({other.Subnet})"), []);
            }
        }
        var decided = spec with
        {
            Subnet = spec.Subnet is null ? null : SubnetText.Parse(spec.Subnet, out _)!.ToString(),
            Mtu = spec.Mtu == 0 ? NetworkSpec.DefaultMtuOf(spec.Mode) : spec.Mtu,
            Vni = spec.Mode == NetworkMode.Overlay ? NextVni() : 0,
        };
        return (new NetworkInfo(decided, []), [new NetworkCreated(decided)]);
    }

    /// <summary>Decides a deletion: refused while a VM has a NIC on the network.</summary>
    public (object Reply, IReadOnlyList<INetworkEvent> Events) Decide(DeleteNetwork delete)
    {
        if (delete?.Name is not { } name || !_networks.ContainsKey(name))
            return (new NetworkNotFound(delete?.Name ?? ""), []);
        if (UsersOf(name) is { Count: > 0 } users)
            return (new NetworkRefused(name, $"network '{name}' is used by VM(s) {string.Join(", ", users)}: delete them first"), []);
        return (new NetworkRemoved(name), [new NetworkDeleted(name)]);
    }

    /// <summary>
    /// Decides the NICs of a VM being created: each on a known network, its MAC as given (unique in that network) or
    /// generated (locally administered, stable for the VM id and NIC index), and the lowest free address of the subnet.
    /// </summary>
    public (object Reply, IReadOnlyList<INetworkEvent> Events) Decide(AssignNics assign)
    {
        var vmId = assign.VmId;
        if (NetworkSpecValidator.CheckNics(assign.Nics) is { } failure)
            return (failure, []);
        if (_addresses.Values.Any(list => list.Any(a => a.VmId == vmId)))
            return (new NotAllowed(vmId, $"VM {vmId} already holds network addresses (a VM with this id exists)"), []);
        var book = this;
        var events = new List<INetworkEvent>();
        var nics = new List<NicSpec>();
        for (int i = 0; i < assign.Nics.Count; i++)
        {
            var nic = assign.Nics[i];
            if (!book._networks.TryGetValue(nic.Network, out var network))
                return (new NotAllowed(vmId, $"NIC {i}: there is no network '{nic.Network}'{Known()}"), []);
            var taken = book.Addresses(network.Name);
            string mac;
            if (nic.Mac is not null)
            {
                mac = MacText.Normalize(nic.Mac);
                if (taken.FirstOrDefault(a => a.Mac == mac) is { } holder)
                    return (new NotAllowed(vmId, $"NIC {i}: MAC {mac} is VM {holder.VmId}'s on network '{network.Name}'"), []);
            }
            else
            {
                var attempt = 0;
                do
                    mac = MacText.Generate(vmId, i, attempt++);
                while (taken.Any(a => a.Mac == mac));
            }
            string? ip = null;
            if (network.Subnet is not null)
            {
                var subnet = SubnetText.Parse(network.Subnet, out _)!;
                var used = taken.Select(a => a.Ip).OfType<string>().ToHashSet(StringComparer.Ordinal);
                ip = Enumerable.Range(0, (int)Math.Min(subnet.GuestCount, int.MaxValue)).Select(n => subnet.GuestAddress(n))
                    .FirstOrDefault(a => !used.Contains(a));
                if (ip is null)
                    return (new NotAllowed(vmId, $"NIC {i}: network '{network.Name}' ({network.Subnet}) has no free address"), []);
            }
            var assigned = new AddressAssigned(network.Name, vmId, mac, ip);
            events.Add(assigned);
            book = book.Apply(assigned);
            nics.Add(nic with { Mac = mac, Ip = ip, Mtu = network.Mtu });
        }
        return (new NicsAssigned(vmId, nics), events);
    }

    /// <summary>Decides the release of a VM's addresses (nothing to write when it holds none).</summary>
    public (object Reply, IReadOnlyList<INetworkEvent> Events) Decide(ReleaseNics release) =>
        _addresses.Values.Any(list => list.Any(a => a.VmId == release.VmId))
            ? (new NicsReleased(release.VmId), [new AddressesReleased(release.VmId)])
            : (new NicsReleased(release.VmId), []);

    private ImmutableList<NetworkAddress> Addresses(string name) => _addresses.GetValueOrDefault(name) ?? [];

    private NetworkInfo Info(string name) => new(_networks[name], Addresses(name));

    private int NextVni()
    {
        var used = _networks.Values.Select(n => n.Vni).ToHashSet();
        var vni = FirstVni;
        while (used.Contains(vni))
            vni++;
        return vni;
    }

    private string Known() => _networks.Count == 0 ? " (none exist: vmctl network create)" : $" (known: {string.Join(", ", _networks.Keys)})";
}
