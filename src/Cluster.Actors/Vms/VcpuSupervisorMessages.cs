namespace Cluster.Actors.Vms;

/// <summary>Asks a <see cref="VcpuSupervisor"/> to pause every vCPU.</summary>
public sealed class PauseVcpus
{
    public static PauseVcpus Instance { get; } = new();

    private PauseVcpus()
    {
    }
}

/// <summary>Asks a <see cref="VcpuSupervisor"/> to resume every vCPU.</summary>
public sealed class ResumeVcpus
{
    public static ResumeVcpus Instance { get; } = new();

    private ResumeVcpus()
    {
    }
}

/// <summary>Asks a <see cref="VcpuSupervisor"/> to stop the guest and itself; a graceful stop pauses the vCPUs first.</summary>
public sealed record StopVcpus(bool Graceful);

/// <summary>
/// Asks a <see cref="VcpuSupervisor"/> for the state of its paused guest; answered with
/// <see cref="VcpuStateSaved"/>, or a <see cref="Akka.Actor.Status.Failure"/> when it is not paused.
/// </summary>
public sealed class SaveVcpuState
{
    public static SaveVcpuState Instance { get; } = new();

    private SaveVcpuState()
    {
    }
}

/// <summary>The captured state of a paused guest (vCPUs, VM-wide state, devices; not memory).</summary>
public sealed record VcpuStateSaved(Cluster.Vmm.Machine.MachineSnapshot Snapshot);

/// <summary>
/// Tells a <see cref="VcpuSupervisor"/> that its guest's ownership moved to another host: the source machine's
/// coming stop is not a guest exit, and its run ended when the migration paused it.
/// </summary>
public sealed class ReleaseGuest
{
    public static ReleaseGuest Instance { get; } = new();

    private ReleaseGuest()
    {
    }
}

/// <summary>To a <see cref="VcpuSupervisor"/> from its VM actor, after <see cref="GuestPermitLapsed"/>: ownership is confirmed, the
/// guest's permit is renewed and it runs again (unless it was paused on purpose).</summary>
public sealed class ResumeAfterLapse
{
    public static ResumeAfterLapse Instance { get; } = new();

    private ResumeAfterLapse()
    {
    }
}
