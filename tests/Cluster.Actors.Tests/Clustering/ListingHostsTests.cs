using Akka.Cluster;
using Cluster.Actors.Clustering;
using Xunit;

namespace Cluster.Actors.Tests.Clustering;

/// <summary>Which hosts a cluster-wide listing (VMs, migrations) asks.</summary>
public class ListingHostsTests
{
    [Fact]
    public void Every_up_host_member_is_asked_even_when_its_status_has_not_reached_this_nodes_board()
    {
        // Host b restarted and its status reports have not arrived here yet (pub-sub, a lossy link): its VMs must still be listed.
        var hosts = ClusterControl.HostsToAsk(["10.0.0.1:4053"],
        [
            ("10.0.0.1:4053", MemberStatus.Up, true),
            ("10.0.0.2:4053", MemberStatus.Up, true),
            ("10.0.0.3:4053", MemberStatus.WeaklyUp, true),
        ]);

        Assert.Equal(["10.0.0.1:4053", "10.0.0.2:4053", "10.0.0.3:4053"], hosts);
    }

    [Fact]
    public void Members_that_run_no_vms_or_are_not_up_are_not_asked_but_a_reported_host_is_once()
    {
        var hosts = ClusterControl.HostsToAsk(["10.0.0.4:4053", "10.0.0.1:4053"],
        [
            ("10.0.0.1:4053", MemberStatus.Up, true),
            ("10.0.0.2:4053", MemberStatus.Up, false),
            ("10.0.0.3:4053", MemberStatus.Joining, true),
            ("10.0.0.5:4053", MemberStatus.Leaving, true),
            ("10.0.0.6:4053", MemberStatus.Down, true),
        ]);

        Assert.Equal(["10.0.0.1:4053", "10.0.0.4:4053"], hosts);
    }
}
