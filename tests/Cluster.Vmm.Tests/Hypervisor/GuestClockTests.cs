using System.Diagnostics;
using Xunit;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Tests.Hypervisor;

public class GuestClockTests
{
    [Fact]
    public void Counts_the_cpu_time_of_the_run_in_progress_and_stands_still_between_runs()
    {
        var clock = new GuestClock();
        Assert.Equal(TimeSpan.Zero, clock.Elapsed);

        clock.Enter();
        Assert.True(SpinUntil(() => clock.Elapsed >= TimeSpan.FromMilliseconds(20)), "a busy run in progress never showed 20 ms of CPU");
        var during = clock.Elapsed;
        clock.Leave();

        var after = clock.Elapsed;
        Assert.True(after >= during);
        Spin(TimeSpan.FromMilliseconds(30));
        Assert.Equal(after, clock.Elapsed);

        clock.Enter();
        Spin(TimeSpan.FromMilliseconds(40));
        clock.Leave();
        Assert.True(clock.Elapsed > after, "a second busy run adds to the first");
    }

    /// <summary>Burns CPU on this thread until <paramref name="done"/> holds (true) or 20 s of wall time pass (false).</summary>
    private static bool SpinUntil(Func<bool> done)
    {
        var wall = Stopwatch.StartNew();
        while (wall.Elapsed < TimeSpan.FromSeconds(20))
        {
            Spin(TimeSpan.FromMilliseconds(1));
            if (done())
                return true;
        }
        return false;
    }

    [Fact]
    public void A_run_that_blocks_like_a_halted_vcpu_adds_almost_nothing()
    {
        var clock = new GuestClock();
        clock.Enter();
        Thread.Sleep(300);
        clock.Leave();
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(100), $"300 ms asleep in Run counted {clock.Elapsed.TotalMilliseconds} ms");
    }

    /// <summary>Burns CPU on this thread for <paramref name="wall"/> of wall time.</summary>
    private static void Spin(TimeSpan wall)
    {
        var clock = Stopwatch.StartNew();
        var x = 0UL;
        while (clock.Elapsed < wall)
            x = x * 6364136223846793005UL + 1442695040888963407UL;
        GC.KeepAlive(x);
    }
}
