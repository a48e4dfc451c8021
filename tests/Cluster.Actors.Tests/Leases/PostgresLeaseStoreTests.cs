using Cluster.Actors.Leases;

namespace Cluster.Actors.Tests.Leases;

/// <summary>The lease store contract on PostgreSQL (<c>CLUSTER_PG_URL</c>; skipped without it).</summary>
public sealed class PostgresLeaseStoreTests : LeaseStoreContract
{
    protected override LeaseStore Store { get; } = new PostgresLeaseStore(PostgresFactAttribute.ConnectionString ?? "Host=127.0.0.1");

    [PostgresFact]
    public Task Only_one_of_two_owners_holds_it_the_other_after_expiry() =>
        Only_one_of_two_owners_holds_a_lease_and_the_other_gets_it_after_expiry_by_the_database_clock();

    [PostgresFact]
    public Task A_release_hands_it_over_at_once() => A_release_hands_the_lease_over_at_once_and_only_the_owner_can_release();

    [PostgresFact]
    public Task Renewals_keep_it() => Renewals_keep_the_lease_past_its_ttl();

    [PostgresFact]
    public Task A_new_incarnation_takes_its_own_hosts_row() => A_new_incarnation_of_the_same_host_takes_its_row_at_once_and_no_other_host_does();

    [PostgresFact]
    public async Task A_closed_port_fails_the_call_instead_of_holding()
    {
        var closed = new PostgresLeaseStore("Host=127.0.0.1;Port=1;Username=x;Password=x;Database=x");
        await Assert.ThrowsAnyAsync<Exception>(() => closed.TryAcquireAsync("test:closed", "a#1", TimeSpan.FromSeconds(1)));
    }
}
