using System.Globalization;

namespace Cluster.Vmm.Isolation;

/// <summary>The cgroup v1 files of a worker's group: limits written and read back, usage read.</summary>
internal static class CgroupV1Files
{
    public static void ApplyLimits(CgroupPaths p, CgroupLimits l)
    {
        string limit = l.MemoryBytes is { } m ? m.ToString(CultureInfo.InvariantCulture) : "-1";
        string memory = Path.Combine(p.Memory, "memory.limit_in_bytes"), memsw = Path.Combine(p.Memory, "memory.memsw.limit_in_bytes");
        if (!File.Exists(memsw)) CgroupFs.Write(memory, limit);
        else if (CgroupFs.TryWrite(memory, limit) == 0) CgroupFs.Write(memsw, limit);
        else
        {
            // Raising the limit: memory.limit_in_bytes may not exceed memsw, so memsw goes first.
            CgroupFs.Write(memsw, limit);
            CgroupFs.Write(memory, limit);
        }
        CgroupFs.Write(Path.Combine(p.Cpu, "cpu.cfs_period_us"), l.CpuPeriodMicros.ToString(CultureInfo.InvariantCulture));
        CgroupFs.Write(Path.Combine(p.Cpu, "cpu.cfs_quota_us"), (l.CpuQuotaMicros ?? -1).ToString(CultureInfo.InvariantCulture));
        CgroupFs.Write(Path.Combine(p.Cpu, "cpu.shares"), l.CpuShares.ToString(CultureInfo.InvariantCulture));
        CgroupFs.Write(Path.Combine(p.Pids, "pids.max"), l.PidsMax?.ToString(CultureInfo.InvariantCulture) ?? "max");
    }

    /// <summary>Gives a parent group this layer made the worker weight, so all guests together weigh less than the node.</summary>
    public static void WeighParent(string cpuDir) =>
        CgroupFs.Write(Path.Combine(cpuDir, "cpu.shares"), new CgroupLimits(null, null).CpuShares.ToString(CultureInfo.InvariantCulture));

    public static CgroupLimits ReadLimits(CgroupPaths p)
    {
        ulong memory = CgroupFs.ReadULong(Path.Combine(p.Memory, "memory.limit_in_bytes"));
        long quota = long.Parse(CgroupFs.Read(Path.Combine(p.Cpu, "cpu.cfs_quota_us")).Trim(), CultureInfo.InvariantCulture);
        long period = (long)CgroupFs.ReadULong(Path.Combine(p.Cpu, "cpu.cfs_period_us"));
        long shares = (long)CgroupFs.ReadULong(Path.Combine(p.Cpu, "cpu.shares"));
        string pids = CgroupFs.Read(Path.Combine(p.Pids, "pids.max")).Trim();
        return new CgroupLimits(
            MemoryBytes: memory >= CgroupFs.V1Unlimited ? null : memory,
            CpuQuotaMicros: quota < 0 ? null : quota,
            CpuPeriodMicros: period,
            CpuWeight: (int)Math.Clamp((shares * 100 + 512) / 1024, 1, 10_000),
            PidsMax: pids == "max" ? null : int.Parse(pids, CultureInfo.InvariantCulture));
    }

    public static CgroupUsage ReadUsage(CgroupPaths p)
    {
        var oom = CgroupFs.ReadKeyValues(Path.Combine(p.Memory, "memory.oom_control"));
        var cpuStat = Path.Combine(p.Cpu, "cpu.stat");
        // With memsw limited to the same figure, the memory+swap counter is charged first and counts the hit.
        var memswFailcnt = Path.Combine(p.Memory, "memory.memsw.failcnt");
        var charged = CgroupFs.ReadULong(Path.Combine(p.Memory, "memory.usage_in_bytes"));
        return new CgroupUsage(
            MemoryCurrentBytes: charged,
            MemoryPeakBytes: CgroupFs.ReadULong(Path.Combine(p.Memory, "memory.max_usage_in_bytes")),
            CpuTimeNanoseconds: p.CpuAcct is { } acct ? CgroupFs.ReadULong(Path.Combine(acct, "cpuacct.usage")) : null,
            PidsCurrent: CgroupFs.ReadULong(Path.Combine(p.Pids, "pids.current")),
            MemoryLimitHits: CgroupFs.ReadULong(Path.Combine(p.Memory, "memory.failcnt")) + (File.Exists(memswFailcnt) ? CgroupFs.ReadULong(memswFailcnt) : 0),
            OomKills: oom.TryGetValue("oom_kill", out var kills) ? kills : null,
            UnderOom: oom.GetValueOrDefault("under_oom") != 0,
            CpuThrottledPeriods: File.Exists(cpuStat) && CgroupFs.ReadKeyValues(cpuStat).TryGetValue("nr_throttled", out var t) ? t : null)
        {
            MemoryWorkingSetBytes = CgroupMemoryStat.WorkingSet(p.Memory, charged, unified: false),
        };
    }
}
