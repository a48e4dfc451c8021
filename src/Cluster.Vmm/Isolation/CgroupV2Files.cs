using System.Globalization;

namespace Cluster.Vmm.Isolation;

/// <summary>The cgroup v2 files of a worker's group: controllers delegated, limits written and read back, usage read.</summary>
internal static class CgroupV2Files
{
    /// <summary>Enables memory, cpu and pids for the children of <paramref name="dir"/> where they are not yet.</summary>
    public static void EnableControllers(string dir)
    {
        var file = Path.Combine(dir, "cgroup.subtree_control");
        var enabled = CgroupFs.Read(file).Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var missing = CgroupSupport.RequiredControllers.Except(enabled, StringComparer.Ordinal).ToList();
        if (missing.Count > 0) CgroupFs.Write(file, string.Join(' ', missing.Select(c => "+" + c)));
    }

    public static void ApplyLimits(CgroupPaths p, CgroupLimits l)
    {
        string dir = p.Memory;
        CgroupFs.Write(Path.Combine(dir, "memory.max"), l.MemoryBytes?.ToString(CultureInfo.InvariantCulture) ?? "max");
        if (File.Exists(Path.Combine(dir, "memory.swap.max"))) CgroupFs.Write(Path.Combine(dir, "memory.swap.max"), "0");
        CgroupFs.Write(Path.Combine(dir, "cpu.max"),
            $"{l.CpuQuotaMicros?.ToString(CultureInfo.InvariantCulture) ?? "max"} {l.CpuPeriodMicros.ToString(CultureInfo.InvariantCulture)}");
        CgroupFs.Write(Path.Combine(dir, "cpu.weight"), l.CpuWeight.ToString(CultureInfo.InvariantCulture));
        CgroupFs.Write(Path.Combine(dir, "pids.max"), l.PidsMax?.ToString(CultureInfo.InvariantCulture) ?? "max");
    }

    /// <summary>Gives a parent group this layer made the worker weight, so all guests together weigh less than the node.</summary>
    public static void WeighParent(string dir) =>
        CgroupFs.Write(Path.Combine(dir, "cpu.weight"), CgroupLimits.WorkerCpuWeight.ToString(CultureInfo.InvariantCulture));

    public static CgroupLimits ReadLimits(CgroupPaths p)
    {
        string dir = p.Memory;
        string memory = CgroupFs.Read(Path.Combine(dir, "memory.max")).Trim();
        var cpu = CgroupFs.Read(Path.Combine(dir, "cpu.max")).Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string pids = CgroupFs.Read(Path.Combine(dir, "pids.max")).Trim();
        return new CgroupLimits(
            MemoryBytes: memory == "max" ? null : CgroupFs.ParseULong(memory, dir),
            CpuQuotaMicros: cpu[0] == "max" ? null : long.Parse(cpu[0], CultureInfo.InvariantCulture),
            CpuPeriodMicros: long.Parse(cpu[1], CultureInfo.InvariantCulture),
            CpuWeight: (int)CgroupFs.ReadULong(Path.Combine(dir, "cpu.weight")),
            PidsMax: pids == "max" ? null : int.Parse(pids, CultureInfo.InvariantCulture));
    }

    public static CgroupUsage ReadUsage(CgroupPaths p)
    {
        string dir = p.Memory;
        var events = CgroupFs.ReadKeyValues(Path.Combine(dir, "memory.events"));
        var cpu = CgroupFs.ReadKeyValues(Path.Combine(dir, "cpu.stat"));
        var peak = Path.Combine(dir, "memory.peak");
        var charged = CgroupFs.ReadULong(Path.Combine(dir, "memory.current"));
        return new CgroupUsage(
            MemoryCurrentBytes: charged,
            MemoryPeakBytes: File.Exists(peak) ? CgroupFs.ReadULong(peak) : null,
            CpuTimeNanoseconds: cpu.TryGetValue("usage_usec", out var usec) ? usec * 1000 : null,
            PidsCurrent: CgroupFs.ReadULong(Path.Combine(dir, "pids.current")),
            MemoryLimitHits: events.GetValueOrDefault("max"),
            OomKills: events.TryGetValue("oom_kill", out var kills) ? kills : null,
            UnderOom: false,
            CpuThrottledPeriods: cpu.TryGetValue("nr_throttled", out var t) ? t : null)
        {
            MemoryWorkingSetBytes = CgroupMemoryStat.WorkingSet(dir, charged, unified: true),
        };
    }
}
