using Cluster.Contracts.Vms;
using MessagePack;

namespace Cluster.Contracts.Events;

/// <summary>
/// A persisted fact in a VM's life. The journal of <c>vm-{id}</c> is a sequence of these; each
/// carries the UTC time it happened and a human-readable reason.
/// </summary>
/// <param name="VmId">The VM.</param>
/// <param name="At">When it happened (UTC).</param>
/// <param name="Reason">Why it happened.</param>
[Union(0, typeof(VmDefined))]
[Union(1, typeof(VmStarted))]
[Union(2, typeof(VmPaused))]
[Union(3, typeof(VmResumed))]
[Union(4, typeof(VmStopped))]
[Union(5, typeof(VmCrashed))]
[Union(6, typeof(VmRestarted))]
[Union(7, typeof(VmDeleted))]
[Union(8, typeof(VmOwnerClaimed))]
public abstract record VmEvent(
    [property: Key(0)] string VmId, [property: Key(1)] DateTime At, [property: Key(2)] string Reason) : IWithVmId;

/// <summary>The VM was created from <paramref name="Spec"/>.</summary>
[MessagePackObject]
public sealed record VmDefined(
    string VmId, DateTime At, string Reason, [property: Key(3)] VmSpec Spec) : VmEvent(VmId, At, Reason);

/// <summary>The VM was booted (cold).</summary>
[MessagePackObject]
public sealed record VmStarted(
    string VmId, DateTime At, string Reason) : VmEvent(VmId, At, Reason);

/// <summary>The VM's vCPUs were paused.</summary>
[MessagePackObject]
public sealed record VmPaused(
    string VmId, DateTime At, string Reason) : VmEvent(VmId, At, Reason);

/// <summary>The VM's vCPUs were resumed.</summary>
[MessagePackObject]
public sealed record VmResumed(
    string VmId, DateTime At, string Reason) : VmEvent(VmId, At, Reason);

/// <summary>The VM stopped: by a command (<paramref name="Forced"/> when torn down at once), or because the guest ended cleanly.</summary>
[MessagePackObject]
public sealed record VmStopped(
    string VmId, DateTime At, string Reason, [property: Key(3)] bool Forced) : VmEvent(VmId, At, Reason);

/// <summary>The guest failed: shutdown (triple fault), internal error, or a non-zero exit status.</summary>
[MessagePackObject]
public sealed record VmCrashed(
    string VmId, DateTime At, string Reason) : VmEvent(VmId, At, Reason);

/// <summary>The restart policy booted the VM again; <paramref name="Attempt"/> counts from 1.</summary>
[MessagePackObject]
public sealed record VmRestarted(
    string VmId, DateTime At, string Reason, [property: Key(3)] int Attempt) : VmEvent(VmId, At, Reason);

/// <summary>The VM was deleted; its id is free again.</summary>
[MessagePackObject]
public sealed record VmDeleted(
    string VmId, DateTime At, string Reason) : VmEvent(VmId, At, Reason);

/// <summary>
/// A new incarnation of the VM's actor took ownership: <paramref name="Epoch"/> is one more than any
/// earlier claim and <paramref name="Host"/> ("host:port") is where it runs. An older owner that finds
/// a newer epoch in the journal stops its guest (fencing).
/// </summary>
[MessagePackObject]
public sealed record VmOwnerClaimed(
    string VmId, DateTime At, string Reason, [property: Key(3)] long Epoch, [property: Key(4)] string Host) : VmEvent(VmId, At, Reason);
