using Cluster.Contracts.Access;

namespace Cluster.Node.Http.Replies;

/// <summary>
/// One page of the audit log, oldest first within the page: the reply of <c>GET /api/v1/audit?limit=N&amp;before=CURSOR</c>.
/// The log pages backwards from its newest record, so <paramref name="Continue"/> is the cursor of the older page and
/// <paramref name="Next"/> the request that fetches it; both null once the oldest kept record is on this page.
/// </summary>
public sealed record AuditPage(IReadOnlyList<AuditRecord> Records, string? Continue, string? Next);
