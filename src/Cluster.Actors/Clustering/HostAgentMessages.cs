using Akka.Actor;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Clustering;

/// <summary>From a VM actor to its host's agent: this VM (with this spec) lives here now.</summary>
public sealed record VmHosted(VmSpec Spec, IActorRef Actor);

/// <summary>From a VM actor to its host's agent: this VM no longer lives here.</summary>
public sealed record VmUnhosted(string VmId, IActorRef Actor);

/// <summary>
/// From a vCPU supervisor to its host's agent: a guest was booted or adopted (its CPU time counts as load, read from
/// <see cref="GuestClocks"/> by VM id and <paramref name="Run"/>); also from the migration receiver when a migrated guest
/// starts running here, before its VM actor adopts it (the adoption tells the same run again).
/// </summary>
public sealed record GuestBooted(string VmId, long Run);

/// <summary>From a vCPU supervisor (or the migration receiver, for a migrated guest nobody adopted) to its host's agent: the guest's run ended.</summary>
public sealed record GuestEnded(string VmId, long Run);

/// <summary>
/// To a VM actor (from the host agent, when the node is cut off from the majority): pause the vCPUs
/// without recording it, because the majority may restart the VM elsewhere.
/// </summary>
public sealed class FencePause
{
    public static FencePause Instance { get; } = new();

    private FencePause()
    {
    }
}

/// <summary>To a VM actor: the majority is reachable again; resume vCPUs paused by <see cref="FencePause"/>.</summary>
public sealed class FenceResume
{
    public static FenceResume Instance { get; } = new();

    private FenceResume()
    {
    }
}
