namespace Cluster.Vmm.Isolation;

/// <summary>
/// The directories of one group, per controller: on v1 one per hierarchy (cpu and cpuacct may share one),
/// on v2 the same directory for all.
/// </summary>
internal sealed record CgroupPaths(string Memory, string Cpu, string? CpuAcct, string Pids)
{
    /// <summary>Each directory once, in a fixed order: where groups are made, processes added and groups removed.</summary>
    public IReadOnlyList<string> Distinct => [.. new[] { Memory, Cpu, CpuAcct, Pids }.OfType<string>().Distinct(StringComparer.Ordinal)];
}
