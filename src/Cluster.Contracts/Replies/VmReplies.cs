using Cluster.Contracts.Events;
using Cluster.Contracts.Vms;
using MessagePack;

namespace Cluster.Contracts.Replies;

/// <summary>A reply to an <see cref="Commands.IVmCommand"/>.</summary>
public interface IVmReply : IClusterMessage;

/// <summary>The command was carried out; the VM is now in <paramref name="Status"/>.</summary>
[MessagePackObject]
public sealed record VmCommandAccepted([property: Key(0)] string VmId, [property: Key(1)] VmStatus Status) : IVmReply, IWithVmId;

/// <summary>The command is not allowed in the VM's current state; <paramref name="Reason"/> says why.</summary>
[MessagePackObject]
public sealed record NotAllowed([property: Key(0)] string VmId, [property: Key(1)] string Reason) : IVmReply, IWithVmId;

/// <summary>No VM with this id exists.</summary>
[MessagePackObject]
public sealed record VmNotFound([property: Key(0)] string VmId) : IVmReply, IWithVmId;

/// <summary>A spec was rejected: <paramref name="Field"/> names the offending field.</summary>
[MessagePackObject]
public sealed record ValidationFailed([property: Key(0)] string Field, [property: Key(1)] string Message) : IVmReply;

/// <summary>What a VM is and where it stands.</summary>
/// <param name="Spec">Its spec.</param>
/// <param name="Status">Its lifecycle status.</param>
/// <param name="Restarts">How many times the restart policy has booted it again.</param>
/// <param name="Since">When it entered <paramref name="Status"/> (UTC).</param>
/// <param name="Reason">Why it entered <paramref name="Status"/>.</param>
/// <param name="Node">The node that hosts it ("host:port").</param>
/// <param name="ColdStarts">How many times a host started it from its disks (first boots, restarts elsewhere after a host
/// failure, starts after a stop): every ownership claim of its journal; a live migration is not one. Key 6, 0 from a node
/// that predates it.</param>
[MessagePackObject]
public sealed record VmInfo(
    [property: Key(0)] VmSpec Spec,
    [property: Key(1)] VmStatus Status,
    [property: Key(2)] int Restarts,
    [property: Key(3)] DateTime Since,
    [property: Key(4)] string Reason,
    [property: Key(5)] string Node,
    [property: Key(6)] int ColdStarts = 0) : IVmReply, IWithVmId
{
    [IgnoreMember]
    public string VmId => Spec.Id;
}

/// <summary>All VMs of a node, ordered by id.</summary>
[MessagePackObject]
public sealed record VmList([property: Key(0)] IReadOnlyList<VmInfo> Vms) : IVmReply;

/// <summary>The lifecycle events of one VM, oldest first.</summary>
[MessagePackObject]
public sealed record VmEventList([property: Key(0)] string VmId, [property: Key(1)] IReadOnlyList<VmEvent> Events) : IVmReply, IWithVmId;

/// <summary>Bytes from a VM's serial console: a tail, an attach backlog, or a streamed chunk.</summary>
[MessagePackObject]
public sealed record ConsoleOutput([property: Key(0)] string VmId, [property: Key(1)] byte[] Data) : IVmReply, IWithVmId;

/// <summary>The sender's console subscription has ended.</summary>
[MessagePackObject]
public sealed record ConsoleDetached([property: Key(0)] string VmId) : IVmReply, IWithVmId;

/// <summary>A VM was created on <paramref name="Host"/>, the host admission control chose.</summary>
[MessagePackObject]
public sealed record VmCreated([property: Key(0)] string VmId, [property: Key(1)] VmStatus Status, [property: Key(2)] string Host) : IVmReply, IWithVmId;

/// <summary>
/// No host can take the VM: <paramref name="Resource"/> names what is short (vcpus, memory, labels,
/// anti-affinity, hosts) and <paramref name="Message"/> says by how much.
/// </summary>
[MessagePackObject]
public sealed record PlacementRefused([property: Key(0)] string VmId, [property: Key(1)] string Resource, [property: Key(2)] string Message) : IVmReply, IWithVmId;
