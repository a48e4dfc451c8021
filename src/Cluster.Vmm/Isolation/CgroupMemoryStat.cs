namespace Cluster.Vmm.Isolation;

/// <summary>
/// A group's working set from its <c>memory.stat</c>: the memory charged less the inactive file cache, which the kernel
/// reclaims first (cAdvisor's and the kubelet's figure). For a worker that is the guest's touched RAM, the VMM's heap and
/// code, and the disk-image cache still in use; an idle image cache does not make a VM look big.
/// </summary>
internal static class CgroupMemoryStat
{
    /// <summary>
    /// <paramref name="chargedBytes"/> less the inactive file pages in <paramref name="memoryDir"/>'s <c>memory.stat</c>
    /// (v1 <c>total_inactive_file</c>, which counts the subtree; v2 <c>inactive_file</c>); null where the file or the
    /// counter is missing.
    /// </summary>
    public static ulong? WorkingSet(string memoryDir, ulong chargedBytes, bool unified)
    {
        var file = Path.Combine(memoryDir, "memory.stat");
        if (!File.Exists(file)) return null;
        var stat = CgroupFs.ReadKeyValues(file);
        if (!stat.TryGetValue(unified ? "inactive_file" : "total_inactive_file", out var inactive)) return null;
        return chargedBytes > inactive ? chargedBytes - inactive : 0;
    }
}
