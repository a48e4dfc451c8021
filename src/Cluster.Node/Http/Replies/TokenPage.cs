using Cluster.Contracts.Access;

namespace Cluster.Node.Http.Replies;

/// <summary>
/// One page of tokens (revoked and expired ones too), oldest first: the reply of <c>GET /api/v1/tokens?limit=N&amp;after=CURSOR</c>. <paramref name="Continue"/> is the cursor
/// of the page after this one and <paramref name="Next"/> the request that fetches it; both null on the last page.
/// </summary>
public sealed record TokenPage(IReadOnlyList<TokenInfo> Tokens, string? Continue, string? Next);
