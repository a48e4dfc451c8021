namespace Cluster.Node.Http;

/// <summary>
/// Route metadata of a paginated listing: the name of its cursor parameter (<c>after</c>, or <c>before</c> for the
/// audit log, which pages backwards) and its limits. <see cref="Paging"/> reads the query with it and
/// <see cref="ApiDocument"/> describes the parameters from it, so the two cannot disagree.
/// </summary>
public sealed record PagedListing(string CursorName, int DefaultLimit, int MaxLimit)
{
    /// <summary>The listings that page forwards from the first item: VMs, migrations, networks, tokens.</summary>
    public static PagedListing Forward { get; } = new("after", Paging.MaxLimit, Paging.MaxLimit);

    /// <summary>The audit log: the newest records first, 50 unless asked, at most the 500 the log keeps.</summary>
    public static PagedListing Audit { get; } = new("before", 50, Actors.Access.AuditLog.Kept);
}
