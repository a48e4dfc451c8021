using Cluster.Contracts.Replies;

namespace Cluster.Node.Http.Replies;

/// <summary>
/// One page of VMs, ordered by id: the reply of <c>GET /api/v1/vms?limit=N&amp;after=CURSOR</c>. <paramref name="Continue"/> is the cursor
/// of the page after this one and <paramref name="Next"/> the request that fetches it; both null on the last page.
/// </summary>
public sealed record VmPage(IReadOnlyList<VmInfo> Vms, string? Continue, string? Next);
