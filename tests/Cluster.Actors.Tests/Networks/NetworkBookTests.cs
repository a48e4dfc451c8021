using Cluster.Actors.Networks;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Validation;

namespace Cluster.Actors.Tests.Networks;

public sealed class NetworkBookTests
{
    private static NetworkBook Run(NetworkBook book, (object Reply, IReadOnlyList<INetworkEvent> Events) decision) =>
        decision.Events.Aggregate(book, (b, e) => b.Apply(e));

    private static NetworkBook With(params NetworkSpec[] specs) =>
        specs.Aggregate(NetworkBook.Empty, (b, s) => Run(b, b.Decide(new CreateNetwork(s))));

    private static (NetworkBook Book, NicsAssigned Assigned) Assign(NetworkBook book, string vmId, params NicSpec[] nics)
    {
        var decision = book.Decide(new AssignNics(vmId, nics));
        return (Run(book, decision), Assert.IsType<NicsAssigned>(decision.Reply));
    }

    [Fact]
    public void A_created_network_gets_its_modes_mtu_and_overlays_get_distinct_vnis()
    {
        var book = With(new NetworkSpec("lan", NetworkMode.Nat, "10.88.0.0/24"), new NetworkSpec("o1", NetworkMode.Overlay, "10.90.0.0/24"),
            new NetworkSpec("o2", NetworkMode.Overlay, "10.91.0.0/24"), new NetworkSpec("phys", NetworkMode.Bridge, null, "br0"));
        Assert.Equal(["lan", "o1", "o2", "phys"], book.Networks.Select(n => n.Spec.Name));
        Assert.Equal((1500, 0), (book.Find("lan")!.Spec.Mtu, book.Find("lan")!.Spec.Vni));
        Assert.Equal((1450, NetworkBook.FirstVni), (book.Find("o1")!.Spec.Mtu, book.Find("o1")!.Spec.Vni));
        Assert.Equal(NetworkBook.FirstVni + 1, book.Find("o2")!.Spec.Vni);
        Assert.Equal(0, book.Find("phys")!.Spec.Vni);
    }

    [Theory]
    [InlineData("10.88.0.0/24")]
    [InlineData("10.88.0.128/25")]
    [InlineData("10.0.0.0/8")]
    public void A_subnet_that_overlaps_another_networks_is_refused_naming_it(string subnet)
    {
        var book = With(new NetworkSpec("lan", NetworkMode.Nat, "10.88.0.0/24"));
        var (reply, events) = book.Decide(new CreateNetwork(new NetworkSpec("other", NetworkMode.Overlay, subnet)));
        Assert.Empty(events);
        Assert.Equal($"subnet {subnet} overlaps network 'lan' (10.88.0.0/24)", Assert.IsType<NetworkRefused>(reply).Reason);
    }

    [Fact]
    public void A_taken_name_or_an_invalid_spec_is_refused_without_events()
    {
        var book = With(new NetworkSpec("lan", NetworkMode.Nat, "10.88.0.0/24"));
        var (taken, none) = book.Decide(new CreateNetwork(new NetworkSpec("lan", NetworkMode.Nat, "10.99.0.0/24")));
        Assert.Contains("exists", Assert.IsType<NetworkRefused>(taken).Reason, StringComparison.Ordinal);
        Assert.Empty(none);
        var (invalid, alsoNone) = book.Decide(new CreateNetwork(new NetworkSpec("x", NetworkMode.Nat, "10.99.0.1/24")));
        Assert.Equal("subnet", Assert.IsType<ValidationFailed>(invalid).Field);
        Assert.Empty(alsoNone);
    }

    [Fact]
    public void Addresses_are_unique_the_lowest_free_and_kept_per_mac_until_the_vm_is_released()
    {
        var book = With(new NetworkSpec("lan", NetworkMode.Nat, "10.88.0.0/24"));
        (book, var a) = Assign(book, "a", new NicSpec("lan"), new NicSpec("lan"));
        (book, var b) = Assign(book, "b", new NicSpec("lan", "52:54:00:00:00:0B"));
        Assert.Equal(["10.88.0.2", "10.88.0.3"], a.Nics.Select(n => n.Ip));
        Assert.Equal(("52:54:00:00:00:0b", "10.88.0.4"), (b.Nics[0].Mac, b.Nics[0].Ip));
        Assert.Equal([MacText.Generate("a", 0), MacText.Generate("a", 1)], a.Nics.Select(n => n.Mac));
        Assert.All(a.Nics, n => Assert.Equal(1500, n.Mtu));
        Assert.All(a.Nics, n => Assert.True(MacText.IsLocallyAdministered(n.Mac!)));
        Assert.Equal(a.Nics.Concat(b.Nics).Select(n => (n.Mac, n.Ip)),
            book.Find("lan")!.Addresses.Select(x => ((string?)x.Mac, x.Ip)));

        var (released, events) = book.Decide(new ReleaseNics("a"));
        Assert.IsType<NicsReleased>(released);
        book = events.Aggregate(book, (x, e) => x.Apply(e));
        Assert.Equal(["b"], book.UsersOf("lan"));
        (book, var c) = Assign(book, "c", new NicSpec("lan"));
        Assert.Equal("10.88.0.2", c.Nics[0].Ip);
        Assert.Empty(book.Decide(new ReleaseNics("nobody")).Events);
    }

    [Fact]
    public void The_same_decision_from_the_same_events_gives_the_same_macs_and_addresses()
    {
        static NicsAssigned Once() =>
            Assign(With(new NetworkSpec("lan", NetworkMode.Nat, "10.88.0.0/24")), "web-1", new NicSpec("lan")).Assigned;
        Assert.Equal(Once().Nics, Once().Nics);
    }

    [Fact]
    public void Nics_on_an_unknown_network_with_a_mac_in_use_or_on_a_full_subnet_are_refused_and_nothing_is_recorded()
    {
        var book = With(new NetworkSpec("tiny", NetworkMode.Nat, "10.88.0.0/30"), new NetworkSpec("phys", NetworkMode.Bridge, null, "br0"));
        var (unknown, e1) = book.Decide(new AssignNics("a", [new NicSpec("tiny"), new NicSpec("nope")]));
        Assert.Contains("there is no network 'nope' (known: phys, tiny)", Assert.IsType<NotAllowed>(unknown).Reason, StringComparison.Ordinal);
        Assert.Empty(e1);
        (book, var first) = Assign(book, "a", new NicSpec("tiny", "52:54:00:00:00:01"), new NicSpec("phys"));
        Assert.Equal("10.88.0.2", first.Nics[0].Ip);
        Assert.Null(first.Nics[1].Ip);
        var (full, e2) = book.Decide(new AssignNics("b", [new NicSpec("tiny")]));
        Assert.Contains("no free address", Assert.IsType<NotAllowed>(full).Reason, StringComparison.Ordinal);
        Assert.Empty(e2);
        var (dup, e3) = book.Decide(new AssignNics("b", [new NicSpec("phys", first.Nics[1].Mac)]));
        Assert.Contains("is VM a's on network 'phys'", Assert.IsType<NotAllowed>(dup).Reason, StringComparison.Ordinal);
        Assert.Empty(e3);
        var (again, e4) = book.Decide(new AssignNics("a", [new NicSpec("phys")]));
        Assert.Contains("already holds", Assert.IsType<NotAllowed>(again).Reason, StringComparison.Ordinal);
        Assert.Empty(e4);
    }

    [Fact]
    public void A_network_in_use_cannot_be_deleted_until_its_vms_are_released()
    {
        var book = With(new NetworkSpec("lan", NetworkMode.Nat, "10.88.0.0/24"));
        (book, _) = Assign(book, "web-1", new NicSpec("lan"));
        var (refused, none) = book.Decide(new DeleteNetwork("lan"));
        Assert.Equal("network 'lan' is used by VM(s) web-1: delete them first", Assert.IsType<NetworkRefused>(refused).Reason);
        Assert.Empty(none);
        book = Run(book, book.Decide(new ReleaseNics("web-1")));
        var (deleted, events) = book.Decide(new DeleteNetwork("lan"));
        Assert.IsType<NetworkRemoved>(deleted);
        book = events.Aggregate(book, (b, e) => b.Apply(e));
        Assert.Empty(book.Networks);
        Assert.IsType<NetworkNotFound>(book.Decide(new DeleteNetwork("lan")).Reply);
    }
}
