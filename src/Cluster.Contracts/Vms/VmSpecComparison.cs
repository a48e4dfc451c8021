using Cluster.Contracts.Networks;

namespace Cluster.Contracts.Vms;

/// <summary>
/// Whether two specs say the same (records compare their lists by reference): field by field, lists in order, labels
/// as sets of pairs. What the cluster adds to a spec is not the operator's to say, so it is left out: a disk's identity,
/// and a NIC's MAC or address where the desired spec leaves them unset.
/// </summary>
public static class VmSpecComparison
{
    /// <summary>True when <paramref name="desired"/> (what an operator wrote) says nothing that <paramref name="current"/> does not.</summary>
    public static bool Same(VmSpec desired, VmSpec current) =>
        desired.Id == current.Id && desired.Name == current.Name && desired.Vcpus == current.Vcpus
        && desired.MemoryBytes == current.MemoryBytes && Equals(desired.Image, current.Image)
        && desired.Args.SequenceEqual(current.Args)
        && desired.Labels.Count == current.Labels.Count
        && desired.Labels.All(l => current.Labels.TryGetValue(l.Key, out var v) && v == l.Value)
        && desired.AntiAffinityGroup == current.AntiAffinityGroup && desired.Restart == current.Restart
        && desired.Priority == current.Priority
        && desired.Disks.Count == current.Disks.Count
        && desired.Disks.Zip(current.Disks).All(p => p.First with { Identity = null } == p.Second with { Identity = null })
        && SameNics(desired.Nics, current.Nics);

    /// <summary>True when the NICs are the same networks in the same order, with the MACs and addresses the desired ones give.</summary>
    public static bool SameNics(IReadOnlyList<NicSpec> desired, IReadOnlyList<NicSpec> current) =>
        desired.Count == current.Count
        && desired.Zip(current).All(p => p.First.Network == p.Second.Network
                                          && (p.First.Mac is null || string.Equals(p.First.Mac, p.Second.Mac, StringComparison.OrdinalIgnoreCase))
                                          && (p.First.Ip is null || p.First.Ip == p.Second.Ip)
                                          && (p.First.Mtu == 0 || p.First.Mtu == p.Second.Mtu));
}
