using Cluster.Contracts.Vms;
using Cluster.Actors.Runtime;

namespace Cluster.Actors.Migration;

/// <summary>From a migration receiver to its host's agent: an incoming VM holds this host's resources from now on.</summary>
public sealed record IncomingVm(VmSpec Spec);

/// <summary>From a migration receiver to its host's agent: the incoming VM does not come (or no actor took it).</summary>
public sealed record IncomingVmEnded(string VmId);

/// <summary>
/// To a migration receiver, from its own background task: an incoming page stream ended. It carries the guest that
/// arrived (a live object) because it never leaves the receiver: the task that made the guest hands it to the actor
/// that registers it, in the same process.
/// </summary>
internal sealed record IncomingFinished(string MigrationId, IncomingResult Result, ParkedGuest? Guest);

/// <summary>To a migration receiver: an incoming migration ran past its time.</summary>
internal sealed record IncomingExpired(string MigrationId);

/// <summary>To a migration receiver: a machine that arrived waited too long for its VM actor.</summary>
internal sealed record ParkedExpired(string VmId, string MigrationId);
