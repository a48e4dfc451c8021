using Akka.Actor;
using Cluster.Actors.Runtime;

namespace Cluster.Actors.Vms;

/// <summary>From a <see cref="VcpuSupervisor"/> to its VM actor: the guest ended.</summary>
internal sealed record GuestExited(GuestExit Exit, IActorRef Supervisor);

/// <summary>From a <see cref="VcpuSupervisor"/> to its VM actor: the guest's run permit lapsed and its VMM paused it; it waits
/// for <see cref="ResumeAfterLapse"/>.</summary>
internal sealed record GuestPermitLapsed(IActorRef Supervisor);

/// <summary>From a <see cref="VcpuSupervisor"/> to its VM actor: the guest could not be created or started.</summary>
internal sealed record GuestBootFailed(string Reason, IActorRef Supervisor);

/// <summary>
/// From a <see cref="VcpuSupervisor"/> to its VM actor, before the guest boots: the identities of the disk images it
/// found (in the spec's order), sent when the spec had not recorded them all yet (the VM's first start).
/// </summary>
internal sealed record DisksBound(IReadOnlyList<string> Identities, IActorRef Supervisor);

/// <summary>
/// From a VM actor to its <see cref="Hosting.VmManager"/> parent: a journal fault stops it now and the manager starts
/// the next incarnation after the back-off; until then the manager answers the VM's commands itself.
/// </summary>
internal sealed record VmActorStopping(string VmId);
