namespace Cluster.Node.Http.Replies;

/// <summary>
/// The shape of every error the API answers with (documented in the OpenAPI document; the routes write it as an
/// anonymous object): <paramref name="Error"/> a stable word (bad-request, bad-json, invalid, not-found, ...),
/// <paramref name="Message"/> for people, <paramref name="Field"/> the offending field where there is one.
/// </summary>
public sealed record ApiError(string Error, string Message, string? Field = null);
