namespace Cluster.Vmm.Isolation;

/// <summary>Which cgroup interface contains the workers.</summary>
public enum CgroupVersion
{
    /// <summary>No usable cgroup hierarchy with the memory, cpu and pids controllers.</summary>
    None = 0,

    /// <summary>Legacy hierarchies, one mount per controller (or per set, such as <c>cpu,cpuacct</c>).</summary>
    V1 = 1,

    /// <summary>The unified hierarchy (one cgroup2 mount holding memory, cpu and pids).</summary>
    V2 = 2,
}
