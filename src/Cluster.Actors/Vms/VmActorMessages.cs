using Akka.Actor;
using Cluster.Actors.Runtime;

namespace Cluster.Actors.Vms;

/// <summary>From a <see cref="VcpuSupervisor"/> to its VM actor: the guest ended.</summary>
internal sealed record GuestExited(GuestExit Exit, IActorRef Supervisor);

/// <summary>From a <see cref="VcpuSupervisor"/> to its VM actor: the guest could not be created or started.</summary>
internal sealed record GuestBootFailed(string Reason, IActorRef Supervisor);
