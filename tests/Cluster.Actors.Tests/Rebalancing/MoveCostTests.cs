using Cluster.Actors.Rebalancing;
using static Cluster.Actors.Tests.Rebalancing.PlannerCluster;

namespace Cluster.Actors.Tests.Rebalancing;

public class MoveCostTests
{
    [Fact]
    public void Cost_grows_with_memory_and_dirty_rate()
    {
        var settings = RebalanceSettings.Default;
        var small = MoveCost.Of(Vm("v", 0, memoryMiB: 256), settings);
        var large = MoveCost.Of(Vm("v", 0, memoryMiB: 4096), settings);
        var dirty = MoveCost.Of(Vm("v", 0, memoryMiB: 256, dirty: 512.0 * MiB), settings);
        var thrashing = MoveCost.Of(Vm("v", 0, memoryMiB: 256, dirty: 2048.0 * MiB), settings);
        Assert.True(small.Seconds < large.Seconds);
        Assert.True(small.Seconds < dirty.Seconds);
        Assert.True(dirty.Seconds < thrashing.Seconds);
        Assert.Equal(0, small.DowntimeSeconds);
        Assert.Equal(settings.Limits.DowntimeMs / 1000.0, thrashing.DowntimeSeconds, 6);
    }

    [Fact]
    public void A_move_copies_no_more_than_the_memory_its_worker_holds()
    {
        var settings = RebalanceSettings.Default;
        var big = Vm("v", 0, memoryMiB: 4096);
        var mostlyUntouched = big with { MemoryUsedBytes = 300 * MiB };
        var smallerThanItsWorker = Vm("v", 0, memoryMiB: 64) with { MemoryUsedBytes = 150 * MiB };

        Assert.Equal(300 * MiB, mostlyUntouched.CopiedBytes);
        Assert.Equal(64 * MiB, smallerThanItsWorker.CopiedBytes);
        Assert.Equal(4096 * MiB, big.CopiedBytes);
        Assert.True(MoveCost.Of(mostlyUntouched, settings).TransferSeconds < MoveCost.Of(big, settings).TransferSeconds / 10);
    }

    [Fact]
    public void Estimates_the_dirty_rate_from_cpu_load_unless_measured()
    {
        var settings = RebalanceSettings.Default;
        Assert.Equal(2 * settings.DirtyBytesPerCpuSecond, MoveCost.Of(Vm("v", 2), settings).DirtyBytesPerSecond);
        Assert.Equal(5.0, MoveCost.Of(Vm("v", 2, dirty: 5.0), settings).DirtyBytesPerSecond);
    }
}
