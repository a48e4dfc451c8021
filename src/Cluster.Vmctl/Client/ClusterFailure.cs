namespace Cluster.Vmctl.Client;

/// <summary>The cluster answered a command with a failure (a faulted journal, a crashed actor): what
/// <see cref="HttpsControlClient"/> returns for the API's 502 with its message, and <see cref="NodeClient"/> for an
/// Akka <c>Status.Failure</c>.</summary>
/// <param name="Message">The failure's message.</param>
public sealed record ClusterFailure(string Message);
