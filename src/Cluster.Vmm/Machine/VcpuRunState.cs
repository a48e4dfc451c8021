namespace Cluster.Vmm.Machine;

/// <summary>The life of a vCPU thread: Created -> Running &lt;-> Paused -> Finished.</summary>
public enum VcpuRunState
{
    /// <summary>Set up, thread not started.</summary>
    Created,
    /// <summary>Running guest code (or handling an exit).</summary>
    Running,
    /// <summary>Out of IVcpu.Run and waiting on its thread for Resume or Stop; its state may be saved.</summary>
    Paused,
    /// <summary>Ended for good; <see cref="VcpuThread.Exit"/> says why.</summary>
    Finished,
}

/// <summary>The answer to a request made of a vCPU thread: done, or not allowed in the current state.</summary>
public readonly record struct VcpuRequestResult(bool Done, string? Reason)
{
    /// <summary>The request was carried out.</summary>
    public static readonly VcpuRequestResult Ok = new(true, null);

    /// <summary>The request is invalid in the current state; <paramref name="reason"/> says why.</summary>
    public static VcpuRequestResult NotAllowed(string reason) => new(false, reason);
}
