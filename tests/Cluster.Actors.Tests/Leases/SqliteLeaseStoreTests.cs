using Cluster.Actors.Leases;
using Cluster.Actors.Persistence;
using Cluster.Actors.Tests.TestUtils;

namespace Cluster.Actors.Tests.Leases;

/// <summary>The lease store contract on a SQLite journal file.</summary>
public sealed class SqliteLeaseStoreTests : LeaseStoreContract
{
    protected override LeaseStore Store { get; } =
        new SqliteLeaseStore($"Data Source={SqliteJournal.Prepare(TestConfig.NewDataDirectory())}");

    [Fact]
    public Task Only_one_of_two_owners_holds_it_the_other_after_expiry() =>
        Only_one_of_two_owners_holds_a_lease_and_the_other_gets_it_after_expiry_by_the_database_clock();

    [Fact]
    public Task A_release_hands_it_over_at_once() => A_release_hands_the_lease_over_at_once_and_only_the_owner_can_release();

    [Fact]
    public Task Renewals_keep_it() => Renewals_keep_the_lease_past_its_ttl();

    [Fact]
    public Task A_new_incarnation_takes_its_own_hosts_row() => A_new_incarnation_of_the_same_host_takes_its_row_at_once_and_no_other_host_does();
}
