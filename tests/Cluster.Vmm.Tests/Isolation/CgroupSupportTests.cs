using Cluster.Vmm.Isolation;
using Xunit;

namespace Cluster.Vmm.Tests.Isolation;

public sealed class CgroupSupportTests
{
    // This machine's layout: v1 hierarchies, cpu and cpuacct apart, an empty cgroup2 at /sys/fs/cgroup/unified.
    private const string HybridMounts =
        """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """;

    private const string HybridSelf =
        """
        9:name=systemd:/
        8:pids:/
        4:memory:/process_api/7678
        2:cpuacct:/
        1:cpu:/
        0::/
        """;

    [Fact]
    public void A_hybrid_machine_uses_v1_and_nests_under_the_process_s_own_groups()
    {
        var s = CgroupSupport.Detect(HybridMounts, HybridSelf, p => p == "/sys/fs/cgroup/unified/cgroup.controllers" ? "hugetlb\n" : null, _ => true);

        Assert.Equal(CgroupVersion.V1, s.Version);
        Assert.Equal(new[] { "cpu", "cpuacct", "memory", "pids" }, s.Controllers);
        Assert.True(s.Usable);
        Assert.Equal("/sys/fs/cgroup/memory/process_api/7678", s.HierarchyOf("memory")!.OwnDirectory);
        Assert.Equal("/sys/fs/cgroup/cpu", s.HierarchyOf("cpu")!.OwnDirectory);
        Assert.Contains("cgroup v1", s.Description);
    }

    [Fact]
    public void Cpu_and_cpuacct_mounted_together_share_a_directory()
    {
        const string mounts = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
                              + "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
                              + "39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
        var s = CgroupSupport.Detect(mounts, "3:cpu,cpuacct:/a\n2:memory:/a\n1:pids:/a\n", _ => null, _ => true);

        Assert.Equal(CgroupVersion.V1, s.Version);
        Assert.Same(s.HierarchyOf("cpu"), s.HierarchyOf("cpuacct"));
        Assert.Equal("/sys/fs/cgroup/cpu,cpuacct/a", s.HierarchyOf("cpu")!.OwnDirectory);
    }

    [Fact]
    public void A_unified_hierarchy_with_the_controllers_uses_v2()
    {
        const string mounts = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        var s = CgroupSupport.Detect(mounts, "0::/system.slice/node.service\n",
            p => p == "/sys/fs/cgroup/system.slice/node.service/cgroup.controllers" ? "cpuset cpu io memory pids\n" : null, _ => true);

        Assert.Equal(CgroupVersion.V2, s.Version);
        Assert.Equal("/sys/fs/cgroup/system.slice/node.service", s.HierarchyOf("pids")!.OwnDirectory);
    }

    [Fact]
    public void A_hierarchy_bind_mounted_into_a_container_drops_the_mount_root()
    {
        const string mounts = "30 23 0:26 /docker/abc /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n";
        var s = CgroupSupport.Detect(mounts, "0::/docker/abc/inner\n", _ => "memory cpu pids", _ => true);

        Assert.Equal("/sys/fs/cgroup/inner", s.HierarchyOf("memory")!.OwnDirectory);
        Assert.False(s.Usable);
        Assert.Contains("read-only", s.UnavailableReason);
    }

    [Fact]
    public void Groups_this_process_cannot_write_make_cgroups_unusable_with_a_reason()
    {
        var s = CgroupSupport.Detect(HybridMounts, HybridSelf, _ => null, _ => false);

        Assert.False(s.Writable);
        Assert.Contains("not writable", s.UnavailableReason);
    }

    [Fact]
    public void Without_the_controllers_the_reason_names_what_is_missing()
    {
        const string mounts = "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
        var s = CgroupSupport.Detect(mounts, "0::/\n", _ => "hugetlb", _ => true);

        Assert.Equal(CgroupVersion.None, s.Version);
        Assert.Contains("memory, cpu, pids", s.UnavailableReason);
        Assert.Contains("hugetlb", s.UnavailableReason);
    }

    [Fact]
    public void Detecting_this_machine_does_not_throw()
    {
        var s = CgroupSupport.Detect();

        Assert.False(string.IsNullOrEmpty(s.Description));
    }
}
