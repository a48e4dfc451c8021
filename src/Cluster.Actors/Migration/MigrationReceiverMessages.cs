using Cluster.Contracts.Vms;
using Cluster.Vmm.Migration;

namespace Cluster.Actors.Migration;

/// <summary>From a migration receiver to its host's agent: an incoming VM holds this host's resources from now on.</summary>
public sealed record IncomingVm(VmSpec Spec);

/// <summary>From a migration receiver to its host's agent: the incoming VM does not come (or no actor took it).</summary>
public sealed record IncomingVmEnded(string VmId);

/// <summary>To a migration receiver, from its background task: an incoming page stream ended.</summary>
internal sealed record IncomingFinished(string MigrationId, MigrationTargetResult Result, ParkedGuest? Guest);

/// <summary>To a migration receiver: an incoming migration ran past its time.</summary>
internal sealed record IncomingExpired(string MigrationId);

/// <summary>To a migration receiver: a machine that arrived waited too long for its VM actor.</summary>
internal sealed record ParkedExpired(IncomingMigration Incoming);
