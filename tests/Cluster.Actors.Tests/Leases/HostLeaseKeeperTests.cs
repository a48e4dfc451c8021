using System.Diagnostics;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Leases;
using Cluster.Actors.Tests.TestUtils;

namespace Cluster.Actors.Tests.Leases;

/// <summary>
/// The host lease keeper holds <c>host:NODE</c> while the journal's database answers, publishes how long it holds it on the
/// node's monotonic clock, and lets it run out (counting the failures) once the database goes away; run permits are never
/// bounded beyond it.
/// </summary>
public sealed class HostLeaseKeeperTests : TestKit
{
    private const string Node = "127.0.0.1:5100";
    private readonly string _data;

    public HostLeaseKeeperTests()
        : this(TestConfig.NewDataDirectory())
    {
    }

    private HostLeaseKeeperTests(string data)
        : base(LeaseTestConfig.For(data)) => _data = data;

    private string Data => _data;

    private HostLeaseView View => HostLeases.Get(Sys).View;

    [Fact]
    public async Task The_keeper_holds_its_hosts_lease_and_renews_it_past_the_ttl()
    {
        Sys.ActorOf(HostLeaseKeeper.Props(Node, 42));
        AwaitCondition(() => View.RemainingNow > TimeSpan.Zero, TimeSpan.FromSeconds(10));
        var row = await HostLeases.Get(Sys).Store!.ReadAsync(HostLeases.LeaseName(Node));
        Assert.Equal($"{Node}#42", row!.Owner);
        var held = Stopwatch.StartNew();
        int samples = 0, lapsed = 0;
        while (held.Elapsed < LeaseTestConfig.Ttl * 2)
        {
            samples++;
            // A machine starved for longer than the ttl lets the lease lapse, as it must; it is renewed again after.
            if (View.RemainingNow <= TimeSpan.Zero)
                lapsed++;
            // Held locally for at most ttl - margin after the renewal was sent.
            Assert.True(View.RemainingNow <= LeaseTestConfig.Ttl - TimeSpan.FromMilliseconds(100));
            await Task.Delay(100);
        }
        Assert.True(View.Renewals >= 3, $"{View.Renewals} renewals");
        Assert.True(lapsed * 2 < samples, $"the lease had lapsed at {lapsed} of {samples} readings");
        AwaitCondition(() => View.RemainingNow > TimeSpan.Zero, LeaseTestConfig.Ttl * 2);
    }

    [Fact]
    public async Task The_lease_runs_out_when_the_database_goes_away_and_no_permit_outlasts_it()
    {
        Sys.ActorOf(HostLeaseKeeper.Props(Node, 42));
        AwaitCondition(() => View.RemainingNow > TimeSpan.Zero, TimeSpan.FromSeconds(10));
        var permit = TimeSpan.FromSeconds(3);
        Assert.True(View.Bound(permit) <= View.RemainingNow + TimeSpan.FromMilliseconds(1));
        var gone = Data + ".gone";
        Directory.Move(Data, gone);
        try
        {
            var cut = Stopwatch.StartNew();
            while (View.RemainingNow > TimeSpan.Zero)
            {
                // A permit given now never reaches past the lease.
                var left = View.RemainingNow!.Value;
                Assert.True(View.Bound(permit) <= left + TimeSpan.FromMilliseconds(1), $"permit {View.Bound(permit)} > lease {left}");
                Assert.True(cut.Elapsed < LeaseTestConfig.Ttl + TimeSpan.FromSeconds(1), "the lease outlived the database by more than its ttl");
                await Task.Delay(50);
            }
            Assert.Equal(TimeSpan.Zero, View.Bound(permit));
            Assert.False(View.Holds(TimeSpan.Zero));
            AwaitCondition(() => View.Failures >= 2, TimeSpan.FromSeconds(5));
        }
        finally
        {
            Directory.Move(gone, Data);
        }
        // The database is back: the keeper holds the lease again.
        AwaitCondition(() => View.RemainingNow > TimeSpan.Zero, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Another_hosts_keeper_never_holds_a_lease_that_is_renewed_but_a_new_incarnation_of_the_same_host_takes_it()
    {
        var store = HostLeases.Get(Sys).Store!;
        var name = HostLeases.LeaseName(Node);
        Sys.ActorOf(HostLeaseKeeper.Props(Node, 42));
        AwaitCondition(() => View.RemainingNow > TimeSpan.Zero, TimeSpan.FromSeconds(10));
        Assert.False(await store.TryAcquireAsync(name, "127.0.0.1:5200#7", LeaseTestConfig.Ttl, "127.0.0.1:5200#"));
        Assert.True(await store.TryAcquireAsync(name, $"{Node}#43", LeaseTestConfig.Ttl, $"{Node}#"));
        // The old incarnation's keeper finds another owner at its next renewal: its view is void at once.
        AwaitCondition(() => View.RemainingNow == TimeSpan.Zero, TimeSpan.FromSeconds(5));
    }
}
