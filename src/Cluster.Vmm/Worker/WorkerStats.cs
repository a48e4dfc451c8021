using Cluster.Vmm.Devices;

namespace Cluster.Vmm.Worker;

/// <summary>A worker's resource use.</summary>
/// <param name="State">The VM's state.</param>
/// <param name="GuestCpuTime">Guest CPU time summed over the vCPUs.</param>
/// <param name="RssBytes">The worker process's resident set.</param>
public sealed record WorkerStats(WorkerVmState State, TimeSpan GuestCpuTime, long RssBytes)
{
    /// <summary>The machine's disk and network traffic so far (zero before it has one); null from a worker of protocol
    /// version 4, which does not send it.</summary>
    public IoCounters? Io { get; init; }
}
