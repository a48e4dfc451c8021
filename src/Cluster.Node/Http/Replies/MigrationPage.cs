using Cluster.Contracts.Migration;

namespace Cluster.Node.Http.Replies;

/// <summary>
/// One page of migrations (running and finished), oldest first: the reply of <c>GET /api/v1/migrations?limit=N&amp;after=CURSOR</c>. <paramref name="Continue"/> is the cursor
/// of the page after this one and <paramref name="Next"/> the request that fetches it; both null on the last page.
/// </summary>
public sealed record MigrationPage(IReadOnlyList<MigrationInfo> Migrations, string? Continue, string? Next);
