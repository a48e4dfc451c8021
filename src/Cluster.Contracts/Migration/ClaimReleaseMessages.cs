using MessagePack;

namespace Cluster.Contracts.Migration;

/// <summary>
/// A failover claim to the VM's old owner while that host is still an Up member (so its host lease does not run out):
/// before <paramref name="Claimer"/> boots the VM at epoch <paramref name="Epoch"/> + 1, the old owner drops whatever it
/// still runs of the VM outside a VM actor (a migrated guest parked for an actor that now starts elsewhere, a guest held
/// through a journal fault, an incoming migration) and answers <see cref="ClaimedVmReleased"/>. Sent to the old owner's
/// migration receiver; between the cluster's own nodes only.
/// </summary>
/// <param name="VmId">The VM.</param>
/// <param name="Epoch">The VM's ownership epoch as the claimer read it from the journal; guests of a later epoch are kept.</param>
/// <param name="Claimer">The claiming host ("host:port"), for the logs.</param>
[MessagePackObject]
public sealed record ReleaseClaimedVm([property: Key(0)] string VmId, [property: Key(1)] long Epoch, [property: Key(2)] string Claimer)
    : IClusterMessage;

/// <summary>
/// The old owner's answer to <see cref="ReleaseClaimedVm"/>: <paramref name="Released"/> when nothing of the VM runs on that host any
/// more (nothing did, or it was stopped now); otherwise <paramref name="Detail"/> says what still runs it (its VM actor, a
/// guest of a later epoch), and the claimer keeps waiting.
/// </summary>
[MessagePackObject]
public sealed record ClaimedVmReleased([property: Key(0)] string VmId, [property: Key(1)] bool Released, [property: Key(2)] string Detail)
    : IClusterMessage;
