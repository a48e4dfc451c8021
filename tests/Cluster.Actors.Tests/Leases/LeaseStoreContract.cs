using System.Diagnostics;
using Cluster.Actors.Leases;

namespace Cluster.Actors.Tests.Leases;

/// <summary>
/// What every lease store does, whatever the database: one owner at a time, the other only after the row expired by the
/// database's clock, a release that hands it over at once, renewals that keep it. Each backend's test class runs these.
/// </summary>
public abstract class LeaseStoreContract
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMilliseconds(1500);

    protected abstract LeaseStore Store { get; }

    private static string NewName() => $"test:{Guid.NewGuid():N}";

    protected async Task Only_one_of_two_owners_holds_a_lease_and_the_other_gets_it_after_expiry_by_the_database_clock()
    {
        var name = NewName();
        Assert.True(await Store.TryAcquireAsync(name, "a#1", Ttl));
        var taken = Stopwatch.StartNew();
        Assert.False(await Store.TryAcquireAsync(name, "b#2", Ttl));
        var row = await Store.ReadAsync(name);
        Assert.Equal("a#1", row!.Owner);
        Assert.InRange(row.RemainingMs, 1, (long)Ttl.TotalMilliseconds);
        // b keeps trying: it gets the lease only once a's row has run out.
        while (!await Store.TryAcquireAsync(name, "b#2", Ttl))
            await Task.Delay(50);
        Assert.True(taken.Elapsed >= Ttl - TimeSpan.FromMilliseconds(100), $"b took the lease after {taken.ElapsedMilliseconds} ms, before a's ttl");
        Assert.Equal("b#2", (await Store.ReadAsync(name))!.Owner);
        Assert.False(await Store.TryAcquireAsync(name, "a#1", Ttl));
    }

    protected async Task A_release_hands_the_lease_over_at_once_and_only_the_owner_can_release()
    {
        var name = NewName();
        Assert.True(await Store.TryAcquireAsync(name, "a#1", TimeSpan.FromMinutes(1)));
        Assert.False(await Store.ReleaseAsync(name, "b#2"));
        Assert.False(await Store.TryAcquireAsync(name, "b#2", Ttl));
        Assert.True(await Store.ReleaseAsync(name, "a#1"));
        Assert.Null(await Store.ReadAsync(name));
        Assert.True(await Store.TryAcquireAsync(name, "b#2", Ttl));
    }

    protected async Task Renewals_keep_the_lease_past_its_ttl()
    {
        var name = NewName();
        var held = Stopwatch.StartNew();
        while (held.Elapsed < Ttl * 2)
        {
            Assert.True(await Store.TryAcquireAsync(name, "a#1", Ttl));
            Assert.False(await Store.TryAcquireAsync(name, "b#2", Ttl));
            await Task.Delay(Ttl / 4);
        }
    }

    protected async Task A_new_incarnation_of_the_same_host_takes_its_row_at_once_and_no_other_host_does()
    {
        var name = NewName();
        Assert.True(await Store.TryAcquireAsync(name, "h1#1", TimeSpan.FromMinutes(1), "h1#"));
        Assert.False(await Store.TryAcquireAsync(name, "h2#3", TimeSpan.FromMinutes(1), "h2#"));
        Assert.True(await Store.TryAcquireAsync(name, "h1#2", TimeSpan.FromMinutes(1), "h1#"));
        Assert.Equal("h1#2", (await Store.ReadAsync(name))!.Owner);
    }
}
