using Cluster.Contracts.Hosts;
using Cluster.Node.Http.History;

namespace Cluster.Node.Tests.Http.History;

public sealed class IoRatesTests
{
    private static IoTotals Io(long diskRead, long diskWrite = 0, long netRx = 0, long netTx = 0) => new(diskRead, diskWrite, 0, 0, netRx, netTx, 0, 0);

    [Fact]
    public void A_rate_is_the_growth_over_the_time_between_two_samples_and_the_first_sample_has_none()
    {
        var rates = new IoRates();
        Assert.All(rates.Next("a", "h1", 0, Io(0, 0, 0, 0)), r => Assert.True(double.IsNaN(r)));
        Assert.Equal([100.0, 200, 300, 400], rates.Next("a", "h1", 10_000, Io(1000, 2000, 3000, 4000)));
        Assert.Equal([0.0, 0, 0, 0], rates.Next("a", "h1", 15_000, Io(1000, 2000, 3000, 4000)));
    }

    [Fact]
    public void A_generated_sequence_with_resets_gives_the_true_rate_between_resets_a_gap_at_each_and_never_a_negative_rate()
    {
        var random = new Random(5);
        var rates = new IoRates();
        long at = 0, counter = 0;
        var gaps = 0;
        for (var i = 0; i < 2000; i++)
        {
            var reset = i > 0 && random.Next(25) == 0;
            var seconds = random.Next(1, 30);
            var perSecond = random.Next(0, 1 << 24);
            at += seconds * 1000L;
            // A reset: the guest restarted some time in the interval and its counter began again from zero.
            counter = reset ? random.Next(0, (int)Math.Min(int.MaxValue, counter + 1)) / 2 : counter + perSecond * (long)seconds;
            var next = rates.Next("vm", "h1", at, Io(counter, counter));
            if (i == 0 || reset)
            {
                // A reset's counter may still be above the last one only if it grew past it since: not generated here.
                Assert.True(double.IsNaN(next[0]) || next[0] >= 0, $"sample {i}: {next[0]}");
                gaps += double.IsNaN(next[0]) ? 1 : 0;
            }
            else
                Assert.Equal(perSecond, next[1], 6);
            Assert.All(next, r => Assert.True(double.IsNaN(r) || r >= 0, $"sample {i}: a negative rate {r}"));
        }
        Assert.InRange(gaps, 40, 150);
    }

    [Fact]
    public void A_vm_on_another_host_or_without_counters_starts_its_rate_again()
    {
        var rates = new IoRates();
        rates.Next("a", "h1", 0, Io(0, 1000));
        Assert.Equal(100, rates.Next("a", "h1", 10_000, Io(0, 2000))[1]);
        // Migrated: its counters on h2 are larger than on h1 by chance, but they are not the same counters.
        Assert.True(double.IsNaN(rates.Next("a", "h2", 20_000, Io(0, 5000))[1]));
        Assert.Equal(50, rates.Next("a", "h2", 30_000, Io(0, 5500))[1]);
        Assert.True(double.IsNaN(rates.Next("a", "h2", 40_000, null)[1]));
        Assert.True(double.IsNaN(rates.Next("a", "h2", 50_000, Io(0, 6000))[1]));
        Assert.Equal(10, rates.Next("a", "h2", 60_000, Io(0, 6100))[1]);
    }

    [Fact]
    public void The_same_time_twice_or_a_forgotten_key_gives_no_rate()
    {
        var rates = new IoRates();
        rates.Next("a", "h1", 1000, Io(10));
        Assert.True(double.IsNaN(rates.Next("a", "h1", 1000, Io(20))[0]));
        rates.KeepOnly(["b"]);
        Assert.True(double.IsNaN(rates.Next("a", "h1", 2000, Io(30))[0]));
        Assert.Equal(IoRates.Rate(30, 40, 2), rates.Next("a", "h1", 4000, Io(40))[0]);
    }
}
