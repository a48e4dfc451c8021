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
