namespace Cluster.Vmm.Isolation;

/// <summary>
/// What a worker's group has used, read at one moment. A null field is one this kernel or hierarchy
/// does not report (v2 <c>memory.peak</c> needs Linux 5.19; CPU time needs the cpuacct controller on v1).
/// </summary>
/// <param name="MemoryCurrentBytes">Memory charged now (v1 <c>memory.usage_in_bytes</c>, v2 <c>memory.current</c>), page cache included.</param>
/// <param name="MemoryPeakBytes">The most ever charged (v1 <c>memory.max_usage_in_bytes</c>, v2 <c>memory.peak</c>).</param>
/// <param name="CpuTimeNanoseconds">CPU time used by all tasks (v1 <c>cpuacct.usage</c>, v2 <c>cpu.stat</c> usage_usec × 1000).</param>
/// <param name="PidsCurrent">Tasks in the group now (<c>pids.current</c>).</param>
/// <param name="MemoryLimitHits">Times usage hit the limit (v1 <c>memory.failcnt</c> plus <c>memory.memsw.failcnt</c>, v2
/// <c>memory.events</c> max). Some kernels leave the v1 counters at 0 (a 6.18 kernel did, through an OOM kill):
/// treat 0 as "unknown" there and look at <see cref="OomKills"/> and <see cref="MemoryPeakBytes"/>.</param>
/// <param name="OomKills">Processes the OOM killer killed in the group (v1 <c>memory.oom_control</c> oom_kill, v2 <c>memory.events</c> oom_kill).</param>
/// <param name="UnderOom">Whether the group is out of memory now (v1 <c>memory.oom_control</c> under_oom; always false on v2).</param>
/// <param name="CpuThrottledPeriods">Periods in which the quota ran out (<c>cpu.stat</c> nr_throttled).</param>
public sealed record CgroupUsage(
    ulong MemoryCurrentBytes,
    ulong? MemoryPeakBytes,
    ulong? CpuTimeNanoseconds,
    ulong PidsCurrent,
    ulong MemoryLimitHits,
    ulong? OomKills,
    bool UnderOom,
    ulong? CpuThrottledPeriods)
{
    /// <summary>
    /// The working set: <see cref="MemoryCurrentBytes"/> less the inactive file cache (v1 <c>memory.stat</c>
    /// total_inactive_file, v2 inactive_file), the memory the group holds that the kernel would not reclaim first; null
    /// where <c>memory.stat</c> does not say. This is the figure the node reports as a VM's memory in use.
    /// </summary>
    public ulong? MemoryWorkingSetBytes { get; init; }
}
