using System.Text;
using Cluster.Actors.Devices;

namespace Cluster.Actors.Tests.Devices;

public class ConsoleRateLimiterTests
{
    private static TimeSpan At(double seconds) => TimeSpan.FromSeconds(seconds);

    [Fact]
    public void Keeps_the_burst_then_drops_and_counts_the_rest()
    {
        var limiter = new ConsoleRateLimiter(1000, 3000, At(0));
        Assert.Equal(2000, limiter.Admit(2000, At(0)));
        Assert.Equal(1000, limiter.Admit(2000, At(0)));
        Assert.Equal(0, limiter.Admit(500, At(0)));
        Assert.Equal(1500, limiter.DroppedBytes);
    }

    [Fact]
    public void Refills_at_the_rate_up_to_the_burst()
    {
        var limiter = new ConsoleRateLimiter(1000, 3000, At(0));
        limiter.Admit(3000, At(0));
        Assert.Equal(500, limiter.Admit(800, At(0.5)));
        Assert.Equal(3000, limiter.Admit(10_000, At(100)));
        Assert.Equal(300 + 7000, limiter.DroppedBytes);
    }

    [Fact]
    public void The_marker_reports_the_drops_since_the_last_one_on_a_line_of_its_own()
    {
        var limiter = new ConsoleRateLimiter(10, 10, At(0));
        Assert.Null(limiter.TakeMarker(atLineStart: true));
        limiter.Admit(25, At(0));
        Assert.Equal("\n[console: 15 bytes dropped]\n", Encoding.ASCII.GetString(limiter.TakeMarker(atLineStart: false)!));
        Assert.Null(limiter.TakeMarker(atLineStart: true));
        limiter.Admit(4, At(0));
        Assert.Equal("[console: 4 bytes dropped]\n", Encoding.ASCII.GetString(limiter.TakeMarker(atLineStart: true)!));
        Assert.Equal(19, limiter.DroppedBytes);
    }
}
