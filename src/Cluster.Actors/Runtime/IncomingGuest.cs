using System.Net;
using Cluster.Vmm.Migration;

namespace Cluster.Actors.Runtime;

/// <summary>
/// Where and how a host listens for one incoming live migration.
/// </summary>
/// <param name="BindHost">The address to listen on.</param>
/// <param name="Port">The port (0 for any free one).</param>
/// <param name="Epoch">The fencing epoch the VM will have here once the migration commits.</param>
/// <param name="IoTimeout">The limit on each blocking send or receive.</param>
/// <param name="Created">Called once with the guest when its machine exists (before it runs): its console output starts here.</param>
/// <param name="Resumed">Called once when the guest runs here (in post-copy, before its last pages arrived); it has returned
/// before <see cref="IncomingGuest.Completion"/> completes with a success.</param>
/// <param name="Cancellation">Abandons the migration (the guest is freed).</param>
public sealed record IncomingListen(string BindHost, int Port, long Epoch, TimeSpan IoTimeout, Action<IGuestRuntime> Created, Action Resumed,
    CancellationToken Cancellation)
{
    /// <summary>Whether the page stream is TLS (default); false only where an operator asked for plaintext.</summary>
    public bool Encrypted { get; init; } = true;

    /// <summary>
    /// Asked when the source's Resume does not come after the target is ready (the commit's outcome is unknown here): whether
    /// the migration committed, as the VM's journal records it. The guest stays restored and paused until the answer: true
    /// resumes it here, false frees it. Null: it is freed at once. Asked in the node (in-process runtime) or by the guest's VMM
    /// worker (protocol version 6, IncomingCommitUnknown).
    /// </summary>
    public Func<Task<bool>>? ResolveCommit { get; init; }
}

/// <summary>An incoming migration being received: the endpoint the source connects to, the credentials it needs (made for this
/// migration; they go to the source over the control plane), and its outcome (completed only after <see cref="IncomingListen.Resumed"/>
/// returned, when the guest resumed).</summary>
public sealed record IncomingGuest(IPEndPoint Endpoint, MigrationCredentials Credentials, Task<IncomingResult> Completion);

/// <summary>How an incoming migration ended; on failure the guest was freed.</summary>
public sealed record IncomingResult(bool Succeeded, string? FailureReason, long BytesReceived);

/// <summary>A guest found running on this host from an earlier incarnation of the node, with the epoch it was started under and its console so far.</summary>
public sealed record ReattachedGuest(IGuestRuntime Guest, long Epoch, byte[] ConsoleHistory);
