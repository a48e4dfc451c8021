using Cluster.Vmm.Isolation;
using Xunit;

namespace Cluster.Vmm.Tests.Isolation;

public sealed class CgroupLimitsTests
{
    [Fact]
    public void A_vm_gets_guest_memory_plus_the_overhead_budget_and_one_cpu_per_vcpu_plus_half_a_core_for_the_vmm()
    {
        var l = CgroupLimits.ForVm(1UL << 30, 4);

        Assert.Equal((1UL << 30) + CgroupLimits.OverheadBaseBytes + 4 * CgroupLimits.OverheadPerVcpuBytes, l.MemoryBytes);
        Assert.Equal(4 * l.CpuPeriodMicros + l.CpuPeriodMicros / 2, l.CpuQuotaMicros);
        Assert.Equal(CgroupLimits.DefaultPidsMax, l.PidsMax);
        Assert.Null(l.Validate());
    }

    [Fact]
    public void The_worker_weight_is_half_the_default_on_both_scales()
    {
        var l = CgroupLimits.ForVm(64 << 20, 1);

        Assert.Equal(50, l.CpuWeight);
        Assert.Equal(512, l.CpuShares);
    }

    [Theory]
    [InlineData(1000UL, 100_000L, 100_000L, 50, 10)]
    [InlineData(64UL << 20, 500L, 100_000L, 50, 10)]
    [InlineData(64UL << 20, 100_000L, 2_000_000L, 50, 10)]
    [InlineData(64UL << 20, 100_000L, 100_000L, 0, 10)]
    [InlineData(64UL << 20, 100_000L, 100_000L, 50, 0)]
    public void Limits_the_kernel_would_refuse_are_reported(ulong memory, long quota, long period, int weight, int pids) =>
        Assert.NotNull(new CgroupLimits(memory, quota, period, weight, pids).Validate());
}
