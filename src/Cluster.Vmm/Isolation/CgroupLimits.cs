namespace Cluster.Vmm.Isolation;

/// <summary>
/// What one worker process may use. A null limit means none (<c>max</c>). The CPU weight is given on
/// cgroup v2's scale (1..10000, default 100); on v1 it becomes <c>cpu.shares</c> = weight × 1024 / 100,
/// so the default of <see cref="WorkerCpuWeight"/> (50) is 512 shares against the 1024 of the node's own
/// group: when guests saturate every core, the control plane still gets its share.
/// </summary>
/// <param name="MemoryBytes">The memory limit (v1 <c>memory.limit_in_bytes</c>, and
/// <c>memory.memsw.limit_in_bytes</c> where swap accounting exists, so a worker cannot swap past it;
/// v2 <c>memory.max</c>, and <c>memory.swap.max</c> = 0).</param>
/// <param name="CpuQuotaMicros">CPU time per period (v1 <c>cpu.cfs_quota_us</c>, v2 the first field of <c>cpu.max</c>).</param>
/// <param name="CpuPeriodMicros">The period the quota applies to (v1 <c>cpu.cfs_period_us</c>).</param>
/// <param name="CpuWeight">The relative weight under contention, v2 scale (v1 <c>cpu.shares</c>, v2 <c>cpu.weight</c>).</param>
/// <param name="PidsMax">The most tasks (processes and threads) in the group (<c>pids.max</c>).</param>
public sealed record CgroupLimits(
    ulong? MemoryBytes,
    long? CpuQuotaMicros,
    long CpuPeriodMicros = CgroupLimits.DefaultCpuPeriodMicros,
    int CpuWeight = CgroupLimits.WorkerCpuWeight,
    int? PidsMax = CgroupLimits.DefaultPidsMax)
{
    /// <summary>
    /// What a worker process needs beside guest memory: the .NET runtime and the VMM. Measured here: an
    /// idle .NET 10 console app has 37 MiB RSS (29 MiB of it file-backed: the runtime and its assemblies);
    /// <c>cluster-node vmm run</c> running a small guest on the emulator peaks at 130 MiB RSS (95 MiB
    /// anonymous), the same for 16 MiB and 256 MiB guests (guest pages count only once touched, and are
    /// covered by the guest's own share). 160 MiB leaves a quarter of head-room for the JIT, decoded-code
    /// caches and device buffers; the page cache of disk images is charged to the group too, but it is
    /// reclaimed before anything is killed.
    /// </summary>
    public const ulong OverheadBaseBytes = 160UL << 20;

    /// <summary>Per vCPU on top of <see cref="OverheadBaseBytes"/>: a thread's stack, its run state and exit buffers.</summary>
    public const ulong OverheadPerVcpuBytes = 8UL << 20;

    /// <summary>
    /// CPU time per period beside the vCPUs' (half a core): for the VMM's own threads (device I/O, the migration streams,
    /// the control socket). A vCPU thread runs on one core at a time, so the guest stays within its vCPUs whatever the
    /// quota; with a quota of exactly one core per vCPU a guest that kept its vCPUs busy used the whole quota, and the
    /// group was throttled for the rest of each period: the VMM's threads then waited up to a period (100 ms) at every step
    /// of a migration's hand-over, inside the guest's pause (busy guests paused 200-700 ms in the demo).
    /// </summary>
    public const long OverheadCpuMicros = DefaultCpuPeriodMicros / 2;

    /// <summary>The CFS period, 100 ms (the kernel's default).</summary>
    public const long DefaultCpuPeriodMicros = 100_000;

    /// <summary>A worker's CPU weight: half of the default 100 that the node's own group has.</summary>
    public const int WorkerCpuWeight = 50;

    /// <summary>
    /// Tasks per worker: an idle .NET process has about 13 threads, a VM one per vCPU and a few I/O
    /// threads per disk; 512 leaves room and still stops a fork bomb.
    /// </summary>
    public const int DefaultPidsMax = 512;

    /// <summary>The limits for a VM: guest memory plus the overhead budget, one CPU per vCPU plus <see cref="OverheadCpuMicros"/>,
    /// the worker weight.</summary>
    public static CgroupLimits ForVm(ulong guestMemoryBytes, int vcpus)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vcpus, 1);
        return new CgroupLimits(
            MemoryBytes: guestMemoryBytes + OverheadBaseBytes + (ulong)vcpus * OverheadPerVcpuBytes,
            CpuQuotaMicros: vcpus * DefaultCpuPeriodMicros + OverheadCpuMicros);
    }

    /// <summary>Why these limits cannot be applied, or null when they can (the kernel's accepted ranges).</summary>
    public string? Validate()
    {
        if (MemoryBytes is < 1UL << 20) return $"memory limit {MemoryBytes} bytes is below 1 MiB";
        if (CpuPeriodMicros is < 1_000 or > 1_000_000) return $"CPU period {CpuPeriodMicros} us is outside 1000..1000000";
        if (CpuQuotaMicros is < 1_000) return $"CPU quota {CpuQuotaMicros} us is below 1000";
        if (CpuWeight is < 1 or > 10_000) return $"CPU weight {CpuWeight} is outside 1..10000";
        if (PidsMax is < 1) return $"pids limit {PidsMax} is below 1";
        return null;
    }

    /// <summary>The v1 <c>cpu.shares</c> for <see cref="CpuWeight"/>: weight × 1024 / 100, within 2..262144.</summary>
    public long CpuShares => Math.Clamp(CpuWeight * 1024L / 100, 2, 262_144);
}
