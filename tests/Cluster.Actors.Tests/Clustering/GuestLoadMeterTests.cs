using Cluster.Actors.Clustering;

namespace Cluster.Actors.Tests.Clustering;

public sealed class GuestLoadMeterTests
{
    private static readonly DateTime T0 = new(2026, 12, 7, 12, 0, 0, DateTimeKind.Utc);

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    [Fact]
    public void A_figure_read_late_is_divided_by_the_time_it_covers_not_by_the_time_between_ticks()
    {
        // A guest busy on one vCPU; its worker's figures arrive at irregular moments, read at the agent's ticks.
        var meter = new GuestLoadMeter(S(5));
        meter.Begin("vm", S(0), T0);
        double[] arrivals = [0.9, 1.2, 2.95, 3.1, 3.3, 5.8, 6.0, 8.7];
        foreach (var at in arrivals)
        {
            var load = meter.Load("vm", S(at), T0 + S(at));
            Assert.InRange(load, 0.999, 1.001);
            // The same figure read again at the next tick (no new stats came) changes nothing.
            Assert.InRange(meter.Load("vm", S(at), T0 + S(at)), 0.999, 1.001);
        }
    }

    [Fact]
    public void The_load_covers_the_window_so_a_change_shows_gradually_and_is_whole_after_the_window()
    {
        var meter = new GuestLoadMeter(S(4));
        meter.Begin("vm", S(0), T0);
        for (var t = 1; t <= 8; t++)
            Assert.InRange(meter.Load("vm", S(t), T0 + S(t)), 0.999, 1.001);
        // Idle from t = 8: the load falls as the busy seconds leave the window.
        Assert.InRange(meter.Load("vm", S(8), T0 + S(10)), 0.49, 0.51);
        Assert.Equal(0, meter.Load("vm", S(8), T0 + S(12)), 6);
        Assert.Equal(0, meter.Load("vm", S(8), T0 + S(13)), 6);
    }

    [Fact]
    public void A_guest_counts_from_its_first_reading_and_a_restarted_clock_counts_afresh()
    {
        var meter = new GuestLoadMeter(S(5));
        Assert.Equal(0, meter.Load("new", S(3), T0));
        Assert.InRange(meter.Load("new", S(3.5), T0 + S(1)), 0.499, 0.501);
        meter.Begin("arrived", S(10), T0);
        Assert.InRange(meter.Load("arrived", S(10.25), T0 + S(0.25)), 0.999, 1.001);
        // Its clock went back (a new run): from this reading on.
        Assert.Equal(0, meter.Load("arrived", S(0.1), T0 + S(1)));
        Assert.InRange(meter.Load("arrived", S(1.1), T0 + S(2)), 0.999, 1.001);
    }

    [Fact]
    public void Guests_that_no_longer_run_are_forgotten()
    {
        var meter = new GuestLoadMeter(S(5));
        meter.Begin("a", S(0), T0);
        meter.Begin("b", S(0), T0);
        meter.KeepOnly(["a"]);
        Assert.InRange(meter.Load("a", S(1), T0 + S(1)), 0.999, 1.001);
        Assert.Equal(0, meter.Load("b", S(1), T0 + S(1)));
    }
}
