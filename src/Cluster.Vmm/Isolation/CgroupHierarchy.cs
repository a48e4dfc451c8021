namespace Cluster.Vmm.Isolation;

/// <summary>
/// One mounted cgroup hierarchy as /proc/self/mountinfo and /proc/self/cgroup describe it.
/// </summary>
/// <param name="MountPoint">Where it is mounted (<c>/sys/fs/cgroup/memory</c>, <c>/sys/fs/cgroup</c>).</param>
/// <param name="Controllers">v1: the controllers the mount carries; v2: those enabled for this process's group (its <c>cgroup.controllers</c>).</param>
/// <param name="Unified">Whether this is the cgroup2 hierarchy.</param>
/// <param name="ReadOnly">Whether it is mounted read-only.</param>
/// <param name="OwnDirectory">The directory of this process's own group in it: the mount point plus the
/// process's path from /proc/self/cgroup, less the mount's root (for a hierarchy bind-mounted into a container).</param>
internal sealed record CgroupHierarchy(
    string MountPoint,
    IReadOnlySet<string> Controllers,
    bool Unified,
    bool ReadOnly,
    string OwnDirectory);
