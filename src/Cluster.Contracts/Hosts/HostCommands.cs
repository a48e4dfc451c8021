using Cluster.Contracts.Vms;
using MessagePack;

namespace Cluster.Contracts.Hosts;

/// <summary>Asks the cluster for every host with its capacity and load; answered with <see cref="HostList"/>.</summary>
public sealed class ListHosts : IClusterMessage
{
    /// <summary>The one instance.</summary>
    public static ListHosts Instance { get; } = new();

    private ListHosts()
    {
    }
}

/// <summary>Every host the cluster knows, ordered by address.</summary>
[MessagePackObject]
public sealed record HostList([property: Key(0)] IReadOnlyList<HostStatus> Hosts) : Replies.IVmReply;

/// <summary>
/// Asks a host to leave the cluster gracefully: its VMs restart on other hosts. Answered with
/// <see cref="HostLeaving"/>, or <see cref="HostNotFound"/>.
/// </summary>
[MessagePackObject]
public sealed record LeaveHost([property: Key(0)] string Host) : IClusterMessage;

/// <summary>The host is leaving the cluster.</summary>
[MessagePackObject]
public sealed record HostLeaving([property: Key(0)] string Host) : Replies.IVmReply;

/// <summary>No cluster member has this address.</summary>
[MessagePackObject]
public sealed record HostNotFound([property: Key(0)] string Host, [property: Key(1)] IReadOnlyList<string> Known) : Replies.IVmReply;

/// <summary>
/// The scheduler's placement of a VM on a host, shared with every node so the shard allocation
/// strategy starts the VM's shard where admission control put it.
/// </summary>
[MessagePackObject]
public sealed record PlacementDecided([property: Key(0)] VmSpec Spec, [property: Key(1)] string Host) : IWithVmId
{
    [IgnoreMember]
    public string VmId => Spec.Id;
}

/// <summary>
/// To the scheduler, from a VM actor whose spec changed where it runs (its disks' identities were recorded at its first
/// start): the placement of <paramref name="Spec"/> is <paramref name="Host"/>; published to every node like a decision.
/// </summary>
[MessagePackObject]
public sealed record UpdatePlacement([property: Key(0)] VmSpec Spec, [property: Key(1)] string Host) : IWithVmId
{
    [IgnoreMember]
    public string VmId => Spec.Id;
}

/// <summary>To one host's agent: answer with the <see cref="Replies.VmList"/> of the VMs on that host.</summary>
public sealed class ListLocalVms : IClusterMessage
{
    /// <summary>The one instance.</summary>
    public static ListLocalVms Instance { get; } = new();

    private ListLocalVms()
    {
    }
}

/// <summary>The VM was deleted: its placement no longer holds resources.</summary>
[MessagePackObject]
public sealed record PlacementReleased([property: Key(0)] string VmId) : IWithVmId;
