using Cluster.Contracts.Migration;
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
[Union(9, typeof(VmMigrationStarted))]
[Union(10, typeof(VmMigrated))]
[Union(11, typeof(VmMigrationCompleted))]
[Union(12, typeof(VmMigrationFailed))]
[Union(13, typeof(VmDisksBound))]
[Union(14, typeof(VmSpecUpdated))]
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

/// <summary>A live migration to <paramref name="To"/> began, for <paramref name="Cause"/> within <paramref name="Limits"/>.</summary>
[MessagePackObject]
public sealed record VmMigrationStarted(
    string VmId, DateTime At, string Reason,
    [property: Key(3)] string MigrationId,
    [property: Key(4)] string From,
    [property: Key(5)] string To,
    [property: Key(6)] MigrationCause Cause,
    [property: Key(7)] MigrationLimits Limits) : VmEvent(VmId, At, Reason);

/// <summary>
/// The commit point of a live migration: the VM belongs to <paramref name="To"/> from now on, with
/// <paramref name="Epoch"/> (one more than any earlier claim), which fences the source exactly as a
/// <see cref="VmOwnerClaimed"/> does. Written by the source once the target holds the VM's memory and state.
/// </summary>
[MessagePackObject]
public sealed record VmMigrated(
    string VmId, DateTime At, string Reason,
    [property: Key(3)] string MigrationId,
    [property: Key(4)] string From,
    [property: Key(5)] string To,
    [property: Key(6)] long Epoch) : VmEvent(VmId, At, Reason);

/// <summary>The migrated VM runs on the target and the source is freed; the figures of the move.</summary>
[MessagePackObject]
public sealed record VmMigrationCompleted(
    string VmId, DateTime At, string Reason,
    [property: Key(3)] string MigrationId,
    [property: Key(4)] double DowntimeMs,
    [property: Key(5)] double TotalMs,
    [property: Key(6)] long WireBytes,
    [property: Key(7)] int Rounds,
    [property: Key(8)] string Mode) : VmEvent(VmId, At, Reason);

/// <summary>A migration failed or was cancelled before its commit (<paramref name="Reason"/> says why); the VM runs on the source.</summary>
[MessagePackObject]
public sealed record VmMigrationFailed(
    string VmId, DateTime At, string Reason,
    [property: Key(3)] string MigrationId,
    [property: Key(4)] string To,
    [property: Key(5)] bool Cancelled) : VmEvent(VmId, At, Reason);

/// <summary>
/// The VM's first start bound its disks to the files it found: <paramref name="Identities"/> holds, in the order of
/// the spec's disks, the identity of each image (the UUID beside it, <c>IMG.cluster-id</c>). From here on the VM runs
/// only where every disk path holds a file with the same identity; a namesake (same path, another file) is refused.
/// </summary>
[MessagePackObject]
public sealed record VmDisksBound(
    string VmId, DateTime At, string Reason, [property: Key(3)] IReadOnlyList<string> Identities) : VmEvent(VmId, At, Reason);
