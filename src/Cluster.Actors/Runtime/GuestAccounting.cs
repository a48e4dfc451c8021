namespace Cluster.Actors.Runtime;

/// <summary>
/// What the host charges a guest's process for, from its cgroup's accounting: the CPU time of every thread of the VMM
/// worker (vCPUs, devices, the runtime) and the memory it holds. Unlike <see cref="IGuestRuntime.GuestTime"/>, which only
/// the VMM reports for its own vCPUs, this is what the guest costs the host.
/// </summary>
/// <param name="CpuTime">CPU time used by the group since the worker entered it (v1 <c>cpuacct.usage</c>, v2 <c>cpu.stat</c>
/// usage_usec), or null where the group has no CPU accounting (v1 without cpuacct).</param>
/// <param name="MemoryBytes">The group's working set: memory charged less the inactive file cache (see
/// <see cref="Cluster.Vmm.Isolation.CgroupUsage.MemoryWorkingSetBytes"/>), or all of it charged where <c>memory.stat</c> does not say.</param>
public sealed record GuestAccounting(TimeSpan? CpuTime, ulong MemoryBytes)
{
    /// <summary>The figures of one reading of a group's usage.</summary>
    public static GuestAccounting Of(Cluster.Vmm.Isolation.CgroupUsage usage) => new(
        usage.CpuTimeNanoseconds is { } ns ? TimeSpan.FromTicks((long)(ns / 100)) : null,
        usage.MemoryWorkingSetBytes ?? usage.MemoryCurrentBytes);
}
