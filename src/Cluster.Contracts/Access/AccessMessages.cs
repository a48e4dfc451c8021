using MessagePack;

namespace Cluster.Contracts.Access;

/// <summary>
/// A client command with the bearer token that vouches for it: the only message the node's access gate accepts from
/// clients. <paramref name="Manifest"/> and <paramref name="Payload"/> are the command as the contract serializer
/// writes it (its type's full name and its MessagePack bytes), so any contract travels inside.
/// </summary>
[MessagePackObject]
public sealed record BearerCommand(
    [property: Key(0)] string Token,
    [property: Key(1)] string Manifest,
    [property: Key(2)] byte[] Payload) : IClusterMessage
{
    /// <summary>Names the command, never the token (dead letters and logs print messages).</summary>
    public override string ToString() => $"BearerCommand {{ Manifest = {Manifest}, token {TokenText.IdOf(Token) ?? "(malformed)"} }}";
}

/// <summary>Why the gate refused a command.</summary>
public enum Denial
{
    /// <summary>Reserved.</summary>
    None = 0,
    /// <summary>No token, or one that is malformed, unknown, expired or revoked (HTTP 401).</summary>
    Unauthenticated = 1,
    /// <summary>A valid token whose role may not send this command (HTTP 403).</summary>
    Forbidden = 2,
}

/// <summary>The gate refused the command: nothing was done.</summary>
[MessagePackObject]
public sealed record AccessDenied([property: Key(0)] Denial Reason, [property: Key(1)] string Message) : Replies.IVmReply;

/// <summary>
/// One accepted command in the audit log (persistence id "audit"): when, which token (id, name, role) sent what
/// (<paramref name="Command"/>: the type's name; <paramref name="Target"/>: the VM, host or token it names, or "")
/// through which node.
/// </summary>
[MessagePackObject]
public sealed record AuditRecord(
    [property: Key(0)] DateTime At,
    [property: Key(1)] string TokenId,
    [property: Key(2)] string TokenName,
    [property: Key(3)] Role Role,
    [property: Key(4)] string Command,
    [property: Key(5)] string Target,
    [property: Key(6)] string Node) : IClusterMessage;

/// <summary>Asks for the last <paramref name="Limit"/> records of the audit log; answered with <see cref="AuditList"/>.</summary>
[MessagePackObject]
public sealed record ListAudit([property: Key(0)] int Limit) : IClusterMessage;

/// <summary>Audit records, oldest first.</summary>
[MessagePackObject]
public sealed record AuditList([property: Key(0)] IReadOnlyList<AuditRecord> Records) : Replies.IVmReply;

/// <summary>The audit log's snapshot: the records it keeps in memory.</summary>
[MessagePackObject]
public sealed record AuditSnapshot([property: Key(0)] IReadOnlyList<AuditRecord> Records) : IClusterMessage;
