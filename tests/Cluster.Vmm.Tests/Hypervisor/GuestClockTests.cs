using Xunit;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Tests.Hypervisor;

public class GuestClockTests
{
    [Fact]
    public void Counts_the_run_in_progress_and_stands_still_between_runs()
    {
        var clock = new GuestClock();
        Assert.Equal(TimeSpan.Zero, clock.Elapsed);

        clock.Enter();
        Thread.Sleep(50);
        var during = clock.Elapsed;
        Assert.True(during >= TimeSpan.FromMilliseconds(45), $"a run 50 ms in shows {during.TotalMilliseconds} ms");
        clock.Leave();

        var after = clock.Elapsed;
        Assert.True(after >= during);
        Thread.Sleep(20);
        Assert.Equal(after, clock.Elapsed);

        clock.Enter();
        Thread.Sleep(10);
        clock.Leave();
        Assert.True(clock.Elapsed >= after + TimeSpan.FromMilliseconds(9), "a second run adds to the first");
    }

    [Fact]
    public void A_second_leave_without_an_enter_adds_nothing()
    {
        var clock = new GuestClock();
        clock.Enter();
        clock.Leave();
        var once = clock.Elapsed;
        clock.Leave();
        Assert.Equal(once, clock.Elapsed);
    }
}
