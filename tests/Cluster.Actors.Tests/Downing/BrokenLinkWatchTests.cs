using Cluster.Actors.Downing;

namespace Cluster.Actors.Tests.Downing;

public sealed class BrokenLinkWatchTests
{
    private static readonly DateTime T0 = new(2026, 12, 7, 14, 0, 0, DateTimeKind.Utc);
    private static readonly LinkDowningSettings Settings =
        new(true, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10));

    private static DateTime At(int ms) => T0.AddMilliseconds(ms);

    [Fact]
    public void It_acts_once_the_link_was_seen_for_decide_after_and_the_decision_held_for_settle()
    {
        var watch = new BrokenLinkWatch(Settings);
        Assert.False(watch.Observe(At(0), null));
        Assert.False(watch.Observe(At(200), "b"));
        Assert.False(watch.Observe(At(1000), "b"));
        Assert.True(watch.Observe(At(1200), "b"));
        watch.Done();
        // Done: the next broken link waits its own decide-after.
        Assert.False(watch.Observe(At(1400), "b"));
        Assert.True(watch.Observe(At(2400), "b"));
    }

    [Fact]
    public void Records_that_come_and_go_without_changing_the_decision_do_not_delay_it_but_a_new_decision_does()
    {
        // The caller reduces the records to the decision, so a third host's record appearing and vanishing every 200 ms
        // reaches the watch as the same decision: it acts at decide-after, as the resolver's timer (unchanged set) would not.
        var watch = new BrokenLinkWatch(Settings);
        for (var ms = 0; ms < 1000; ms += 200)
            Assert.False(watch.Observe(At(ms), "b"));
        Assert.True(watch.Observe(At(1000), "b"));

        var other = new BrokenLinkWatch(Settings);
        Assert.False(other.Observe(At(0), "b"));
        Assert.False(other.Observe(At(900), "a,b"));
        Assert.False(other.Observe(At(1200), "a,b"));
        Assert.True(other.Observe(At(1400), "a,b"));
    }

    [Fact]
    public void A_flapping_link_keeps_its_first_sighting_until_forget_after_passes_without_one()
    {
        var watch = new BrokenLinkWatch(Settings);
        Assert.False(watch.Observe(At(0), "b"));
        Assert.False(watch.Observe(At(300), null));
        Assert.False(watch.Observe(At(900), null));
        // Back after 1.2 s: seen since 0 and the same decision since 0, so it acts at once.
        Assert.True(watch.Observe(At(1200), "b"));

        var forgetting = new BrokenLinkWatch(Settings);
        Assert.False(forgetting.Observe(At(0), "b"));
        Assert.False(forgetting.Observe(At(10_500), null));
        Assert.False(forgetting.Observe(At(11_000), "b"));
        Assert.False(forgetting.Observe(At(11_900), "b"));
        Assert.True(forgetting.Observe(At(12_000), "b"));
    }
}
