using MessagePack;

namespace Cluster.Contracts.Access;

/// <summary>A token as the cluster lists it (never its secret).</summary>
/// <param name="Id">The public id (12 hex digits, part of the token's text).</param>
/// <param name="Name">A name for people.</param>
/// <param name="Role">What its holder may do.</param>
/// <param name="CreatedAt">When it was issued (UTC).</param>
/// <param name="ExpiresAt">When it stops working (UTC); null for a node's bootstrap token, which works until revoked.</param>
/// <param name="RevokedAt">When it was revoked (UTC), or null.</param>
[MessagePackObject]
public sealed record TokenInfo(
    [property: Key(0)] string Id,
    [property: Key(1)] string Name,
    [property: Key(2)] Role Role,
    [property: Key(3)] DateTime CreatedAt,
    [property: Key(4)] DateTime? ExpiresAt,
    [property: Key(5)] DateTime? RevokedAt) : IClusterMessage;

/// <summary>Issues a new token; answered with <see cref="TokenCreated"/>, which alone carries its text, or <see cref="Replies.ValidationFailed"/>.</summary>
[MessagePackObject]
public sealed record CreateToken([property: Key(0)] Role Role, [property: Key(1)] string Name, [property: Key(2)] DateTime ExpiresAt) : IClusterMessage;

/// <summary>The new token: <paramref name="Token"/> is shown this once; the cluster keeps only its hash.</summary>
[MessagePackObject]
public sealed record TokenCreated([property: Key(0)] TokenInfo Info, [property: Key(1)] string Token) : Replies.IVmReply
{
    /// <summary>Leaves the token's text out (dead letters and logs print messages).</summary>
    public override string ToString() => $"TokenCreated {{ Info = {Info} }}";
}

/// <summary>
/// Registers a token made elsewhere (a node's bootstrap token, written to its data directory) by its hash; answered
/// with <see cref="TokenImported"/>. A known id is left as it is (a revoked bootstrap token stays revoked).
/// </summary>
[MessagePackObject]
public sealed record ImportToken([property: Key(0)] TokenInfo Info, [property: Key(1)] string Hash) : IClusterMessage;

/// <summary>The token is registered (now or before).</summary>
[MessagePackObject]
public sealed record TokenImported([property: Key(0)] string Id) : Replies.IVmReply;

/// <summary>Asks for every token, revoked and expired ones too; answered with <see cref="TokenList"/>.</summary>
public sealed class ListTokens : IClusterMessage
{
    /// <summary>The one instance.</summary>
    public static ListTokens Instance { get; } = new();

    private ListTokens()
    {
    }
}

/// <summary>The cluster's tokens, oldest first.</summary>
[MessagePackObject]
public sealed record TokenList([property: Key(0)] IReadOnlyList<TokenInfo> Tokens) : Replies.IVmReply;

/// <summary>Revokes a token on every node; answered with <see cref="TokenRevocation"/> or <see cref="TokenNotFound"/>.</summary>
[MessagePackObject]
public sealed record RevokeToken([property: Key(0)] string Id) : IClusterMessage;

/// <summary>The token is revoked (at <paramref name="RevokedAt"/>, now or before).</summary>
[MessagePackObject]
public sealed record TokenRevocation([property: Key(0)] string Id, [property: Key(1)] DateTime RevokedAt) : Replies.IVmReply;

/// <summary>No token has this id.</summary>
[MessagePackObject]
public sealed record TokenNotFound([property: Key(0)] string Id) : Replies.IVmReply;

/// <summary>An event of the token registry (persistence id "tokens").</summary>
public interface ITokenEvent : IClusterMessage;

/// <summary>A token was issued or imported: its description and the SHA-256 of its text.</summary>
[MessagePackObject]
public sealed record TokenIssued([property: Key(0)] TokenInfo Info, [property: Key(1)] string Hash) : ITokenEvent;

/// <summary>A token was revoked.</summary>
[MessagePackObject]
public sealed record TokenRevoked([property: Key(0)] string Id, [property: Key(1)] DateTime At) : ITokenEvent;
