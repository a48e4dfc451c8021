using System.Text.RegularExpressions;
using Xunit;

namespace Cluster.Vmm.Tests.Migration;

/// <summary>The auto-converge hook that migration drives: Machine.SetThrottle over VcpuThread.ThrottlePercent.</summary>
public class ThrottleTests
{
    [Fact]
    public void A_throttled_machine_runs_its_guest_a_fraction_of_the_time()
    {
        using var h = new MigrationHarness("counter", 32UL << 20);
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("count 100\n"), "the guest to count");
        long free = 0, throttled = 0;
        for (int i = 0; i < 3; i++)
        {
            free += CountDuring(h, TimeSpan.FromMilliseconds(200));
            h.Source.SetThrottle(90);
            Assert.All(h.Source.Vcpus, v => Assert.Equal(90, v.ThrottlePercent));
            throttled += CountDuring(h, TimeSpan.FromMilliseconds(200));
            h.Source.SetThrottle(0);
        }
        Assert.True(throttled < free / 2, $"{throttled} counts throttled against {free} free");
        Assert.All(h.Source.Vcpus, v => Assert.Equal(0, v.ThrottlePercent));
    }

    [Fact]
    public void Pausing_a_heavily_throttled_machine_does_not_wait_out_its_sleep()
    {
        using var h = new MigrationHarness("counter", 32UL << 20);
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("count 100\n"), "the guest to count");
        h.Source.SetThrottle(99);
        Thread.Sleep(300);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        h.Source.Pause();
        var took = clock.Elapsed;
        h.Source.SetThrottle(0);
        Assert.True(took < TimeSpan.FromMilliseconds(250), $"pause took {took.TotalMilliseconds} ms");
    }

    private static long CountDuring(MigrationHarness h, TimeSpan span)
    {
        long before = Last(h.SourceConsole.Text);
        Thread.Sleep(span);
        return Last(h.SourceConsole.Text) - before;
    }

    private static long Last(string text)
    {
        var m = Regex.Matches(text, @"count (\d+)\n");
        return m.Count == 0 ? 0 : long.Parse(m[^1].Groups[1].Value);
    }
}
