using System.Diagnostics;
using Cluster.Actors.Leases;

namespace Cluster.Actors.Tests.Leases;

/// <summary>A run permit is bounded by what the host lease has left on the node's monotonic clock, and unbounded without a lease.</summary>
public sealed class HostLeaseViewTests
{
    private static readonly TimeSpan Permit = TimeSpan.FromSeconds(3);

    private static HostLeaseView HeldFor(TimeSpan left) =>
        new(true, Stopwatch.GetTimestamp() + (long)(left.TotalSeconds * Stopwatch.Frequency), "h#1", 1, 0);

    [Fact]
    public void A_permit_is_cut_to_what_the_lease_has_left()
    {
        var bound = HeldFor(TimeSpan.FromSeconds(1)).Bound(Permit);
        Assert.InRange(bound, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void A_lease_with_more_left_than_the_permit_gives_the_whole_permit() =>
        Assert.Equal(Permit, HeldFor(TimeSpan.FromSeconds(5)).Bound(Permit));

    [Fact]
    public void A_lease_that_ran_out_gives_no_permit_and_does_not_hold()
    {
        var view = HeldFor(TimeSpan.FromSeconds(-1));
        Assert.Equal(TimeSpan.Zero, view.Bound(Permit));
        Assert.False(view.Holds(TimeSpan.Zero));
        Assert.Equal(TimeSpan.Zero, new HostLeaseView(true, 0, "h#1", 0, 0).Bound(Permit));
    }

    [Fact]
    public void Without_a_lease_nothing_is_bounded()
    {
        Assert.Equal(Permit, HostLeaseView.None.Bound(Permit));
        Assert.True(HostLeaseView.None.Holds(TimeSpan.FromHours(1)));
        Assert.Null(HostLeaseView.None.RemainingNow);
    }
}
