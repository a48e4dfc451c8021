using Cluster.Actors.Downing;

namespace Cluster.Actors.Tests.Downing;

/// <summary>The link-aware downing's pure decision: which records are broken links, and which members to down.</summary>
public sealed class LinkFailuresTests
{
    // Members are named by age: a is the oldest; the comparer keeps older members first.
    private static readonly IComparer<string> KeepOlder = Comparer<string>.Create(string.CompareOrdinal);

    [Fact]
    public void A_one_way_link_between_two_hosts_downs_the_younger_end_only()
    {
        // c drops what b sends: b cannot reach c (no answers) and c cannot reach b; a reaches both.
        var links = LinkFailures.BrokenLinks([("b", "c"), ("c", "b")]);
        Assert.Equal(2, links.Count);
        Assert.Equal(["c"], LinkFailures.ToDown(links, KeepOlder));
    }

    [Fact]
    public void A_clean_partition_or_a_crash_makes_no_broken_link()
    {
        // c is cut off (or dead): a and b record it; c's own records never reach them.
        Assert.Empty(LinkFailures.BrokenLinks([("a", "c"), ("b", "c")]));
        // Five hosts split 3 | 2: the majority's records only.
        Assert.Empty(LinkFailures.BrokenLinks([("a", "d"), ("a", "e"), ("b", "d"), ("b", "e"), ("c", "d"), ("c", "e")]));
    }

    [Fact]
    public void A_single_record_without_its_reverse_is_not_yet_a_broken_link()
    {
        // One failure detector fired before the other: nothing to decide yet (the resolver's timer runs meanwhile).
        Assert.Empty(LinkFailures.BrokenLinks([("b", "c")]));
    }

    [Fact]
    public void A_host_on_several_broken_links_goes_alone()
    {
        // e's links to b, c and d are broken (both ways): downing e alone removes them all.
        var links = LinkFailures.BrokenLinks([("b", "e"), ("e", "b"), ("c", "e"), ("e", "c"), ("d", "e"), ("e", "d")]);
        Assert.Equal(["e"], LinkFailures.ToDown(links, KeepOlder));
    }

    [Fact]
    public void A_stalled_host_is_downed_rather_than_the_peer_whose_link_to_it_looks_broken()
    {
        // a stalled (SIGSTOP, a starved machine): b and c recorded it; awake, a recorded b first (its record of c not yet).
        // The a-b link ties on links; a is on more records (every peer saw it go), so a goes, whichever is younger.
        var records = new[] { ("b", "a"), ("c", "a"), ("a", "b") };
        var links = LinkFailures.BrokenLinks(records);
        Assert.Equal(2, links.Count);
        Assert.Equal(["a"], LinkFailures.ToDown(links, KeepOlder, records));
        // Without the records, the tie goes against the younger end.
        Assert.Equal(["b"], LinkFailures.ToDown(links, KeepOlder));
    }

    [Fact]
    public void Two_separate_broken_links_down_one_end_of_each_and_the_same_on_every_node()
    {
        var records = new[] { ("a", "b"), ("b", "a"), ("c", "d"), ("d", "c") };
        var down = LinkFailures.ToDown(LinkFailures.BrokenLinks(records), KeepOlder);
        Assert.Equal(["b", "d"], down.Order().ToList());
        // Another leader sees the records in another order: the same decision.
        Assert.Equal(down.Order(), LinkFailures.ToDown(LinkFailures.BrokenLinks(records.Reverse()), KeepOlder).Order());
    }

    [Fact]
    public void A_clean_partition_beside_a_broken_link_leaves_the_cut_off_host_to_the_resolver()
    {
        // b-c broken both ways, e cut off cleanly (recorded by a, b, c): only the b-c link is decided here.
        var links = LinkFailures.BrokenLinks([("b", "c"), ("c", "b"), ("a", "e"), ("b", "e"), ("c", "e")]);
        Assert.Equal(["c"], LinkFailures.ToDown(links, KeepOlder));
    }

    [Fact]
    public void The_reachability_records_of_this_akka_version_can_be_read() =>
        // If an Akka update moves the internal ReachabilityChanged event, this fails (the downing would stand aside).
        Assert.True(ReachabilityRecords.Available);

    [Fact]
    public void A_member_that_reaches_both_ends_of_a_lone_one_way_record_downs_its_subject()
    {
        // A flapping link: b records c, but c's detector of b never fired (heartbeats got through in the link's up phases).
        Assert.Equal([("b", "c")], LinkFailures.OneWayLinks([("b", "c")], "a"));
    }

    [Fact]
    public void No_one_way_record_is_judged_by_an_end_or_by_a_member_that_is_cut_off()
    {
        // An end of the record does not judge it (nor does the subject).
        Assert.Empty(LinkFailures.OneWayLinks([("b", "c")], "b"));
        Assert.Empty(LinkFailures.OneWayLinks([("b", "c")], "c"));
        // The minority of a clean partition, whose records come in one by one: it is the observer of them all.
        Assert.Empty(LinkFailures.OneWayLinks([("c", "a")], "c"));
        // A member that is itself recorded does not judge.
        Assert.Empty(LinkFailures.OneWayLinks([("b", "c"), ("d", "a")], "a"));
    }

    [Fact]
    public void A_crash_seen_by_several_observers_or_a_two_way_link_is_no_one_way_record()
    {
        // c crashed: every other member records it (the resolver decides that).
        Assert.Empty(LinkFailures.OneWayLinks([("a", "c"), ("b", "c")], "d"));
        // Both directions recorded: a broken link, which BrokenLinks covers.
        Assert.Empty(LinkFailures.OneWayLinks([("b", "c"), ("c", "b")], "a"));
        // The observer is itself recorded by someone: its record is not a lone one (the record of it is, and b would go).
        Assert.Equal([("d", "b")], LinkFailures.OneWayLinks([("b", "c"), ("d", "b")], "a"));
    }
}
