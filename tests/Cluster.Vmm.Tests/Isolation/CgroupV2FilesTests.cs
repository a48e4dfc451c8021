using Cluster.Vmm.Isolation;
using Xunit;

namespace Cluster.Vmm.Tests.Isolation;

/// <summary>
/// The cgroup v2 file formats, on a directory of plain files standing in for a group (these machines
/// have no v2 memory/cpu/pids controllers to test against).
/// </summary>
public sealed class CgroupV2FilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cgv2-").FullName;

    public CgroupV2FilesTests()
    {
        foreach (var f in new[] { "memory.max", "memory.swap.max", "cpu.max", "cpu.weight", "pids.max", "cgroup.subtree_control" })
            File.WriteAllText(Path.Combine(_dir, f), "");
    }

    private CgroupPaths Paths => new(_dir, _dir, null, _dir);

    [Fact]
    public void Limits_are_written_in_the_v2_formats_and_read_back()
    {
        var limits = CgroupLimits.ForVm(512UL << 20, 2);

        CgroupV2Files.ApplyLimits(Paths, limits);

        Assert.Equal($"{limits.MemoryBytes}", File.ReadAllText(Path.Combine(_dir, "memory.max")));
        Assert.Equal("0", File.ReadAllText(Path.Combine(_dir, "memory.swap.max")));
        Assert.Equal("250000 100000", File.ReadAllText(Path.Combine(_dir, "cpu.max")));
        Assert.Equal("50", File.ReadAllText(Path.Combine(_dir, "cpu.weight")));
        Assert.Equal("512", File.ReadAllText(Path.Combine(_dir, "pids.max")));
        Assert.Equal(limits, CgroupV2Files.ReadLimits(Paths));
    }

    [Fact]
    public void No_limits_read_back_as_max()
    {
        File.WriteAllText(Path.Combine(_dir, "memory.max"), "max\n");
        File.WriteAllText(Path.Combine(_dir, "cpu.max"), "max 100000\n");
        File.WriteAllText(Path.Combine(_dir, "cpu.weight"), "100\n");
        File.WriteAllText(Path.Combine(_dir, "pids.max"), "max\n");

        Assert.Equal(new CgroupLimits(null, null, 100_000, 100, null), CgroupV2Files.ReadLimits(Paths));
    }

    [Fact]
    public void Usage_comes_from_memory_events_and_cpu_stat()
    {
        File.WriteAllText(Path.Combine(_dir, "memory.current"), "1048576\n");
        File.WriteAllText(Path.Combine(_dir, "memory.peak"), "2097152\n");
        File.WriteAllText(Path.Combine(_dir, "pids.current"), "3\n");
        File.WriteAllText(Path.Combine(_dir, "memory.events"), "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n");
        File.WriteAllText(Path.Combine(_dir, "cpu.stat"), "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 4\nthrottled_usec 900\n");

        var u = CgroupV2Files.ReadUsage(Paths);

        Assert.Equal(new CgroupUsage(1UL << 20, 2UL << 20, 1_500_000, 3, 7, 1, false, 4), u);
    }

    [Fact]
    public void The_working_set_is_the_memory_charged_less_the_inactive_file_cache()
    {
        File.WriteAllText(Path.Combine(_dir, "memory.current"), $"{100UL << 20}\n");
        File.WriteAllText(Path.Combine(_dir, "pids.current"), "3\n");
        File.WriteAllText(Path.Combine(_dir, "memory.events"), "max 0\noom_kill 0\n");
        File.WriteAllText(Path.Combine(_dir, "cpu.stat"), "usage_usec 1500\n");
        File.WriteAllText(Path.Combine(_dir, "memory.stat"), $"anon {60UL << 20}\nfile {40UL << 20}\nactive_file {10UL << 20}\ninactive_file {30UL << 20}\n");

        Assert.Equal(70UL << 20, CgroupV2Files.ReadUsage(Paths).MemoryWorkingSetBytes);
    }

    [Fact]
    public void Controllers_are_delegated_only_where_missing()
    {
        File.WriteAllText(Path.Combine(_dir, "cgroup.subtree_control"), "memory\n");

        CgroupV2Files.EnableControllers(_dir);

        Assert.Equal("+cpu +pids", File.ReadAllText(Path.Combine(_dir, "cgroup.subtree_control"))[..10]);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
