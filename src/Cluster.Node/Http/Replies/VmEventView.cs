namespace Cluster.Node.Http.Replies;

/// <summary>
/// One lifecycle event of <c>GET /api/v1/vms/{id}/events</c>: its type's name, time and reason, and for a migration event
/// its own fields (route, cause with its input figures, limits, outcome), otherwise null.
/// </summary>
public sealed record VmEventView(string Event, DateTime At, string Reason, object? Migration);
