using Cluster.Contracts.Networks;

namespace Cluster.Node.Http.Replies;

/// <summary>
/// One page of networks, ordered by name: the reply of <c>GET /api/v1/networks?limit=N&amp;after=CURSOR</c>. <paramref name="Continue"/> is the cursor
/// of the page after this one and <paramref name="Next"/> the request that fetches it; both null on the last page.
/// </summary>
public sealed record NetworkPage(IReadOnlyList<NetworkInfo> Networks, string? Continue, string? Next);
