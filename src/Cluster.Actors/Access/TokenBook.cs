using System.Collections.Immutable;
using Cluster.Contracts.Access;
using Cluster.Contracts.Replies;

namespace Cluster.Actors.Access;

/// <summary>What <see cref="TokenBook.Verify"/> found: the token's description, or the problem (and whether the id was unknown).</summary>
public sealed record TokenVerdict(TokenInfo? Token, string? Problem, bool UnknownId)
{
    public static TokenVerdict Valid(TokenInfo token) => new(token, null, false);

    public static TokenVerdict Invalid(string problem, bool unknownId = false) => new(null, problem, unknownId);
}

/// <summary>
/// The cluster's tokens as a pure, immutable state: the token registry decides and applies with it, and every node's
/// access gate verifies bearer tokens against its own copy (rebuilt from the same events in the journal). Only hashes
/// of token texts are kept.
/// </summary>
public sealed class TokenBook
{
    private readonly ImmutableDictionary<string, (TokenInfo Info, string Hash)> _byId;
    private readonly ImmutableList<string> _order;

    private TokenBook(ImmutableDictionary<string, (TokenInfo, string)> byId, ImmutableList<string> order)
    {
        _byId = byId;
        _order = order;
    }

    /// <summary>No tokens.</summary>
    public static TokenBook Empty { get; } = new(ImmutableDictionary<string, (TokenInfo, string)>.Empty, []);

    /// <summary>Every token, oldest first.</summary>
    public IReadOnlyList<TokenInfo> Tokens => [.. _order.Select(id => _byId[id].Info)];

    /// <summary>The book after <paramref name="e"/>; issuing a known id or revoking an unknown or revoked one changes nothing.</summary>
    public TokenBook Apply(ITokenEvent e) => e switch
    {
        TokenIssued issued when !_byId.ContainsKey(issued.Info.Id) =>
            new(_byId.Add(issued.Info.Id, (issued.Info, issued.Hash)), _order.Add(issued.Info.Id)),
        TokenRevoked revoked when _byId.TryGetValue(revoked.Id, out var t) && t.Info.RevokedAt is null =>
            new(_byId.SetItem(revoked.Id, (t.Info with { RevokedAt = revoked.At }, t.Hash)), _order),
        _ => this,
    };

    /// <summary>Checks the text of a bearer token at <paramref name="now"/>: well-formed, known, hash equal, not expired, not revoked.</summary>
    public TokenVerdict Verify(string? text, DateTime now)
    {
        if (string.IsNullOrEmpty(text))
            return TokenVerdict.Invalid("no token given");
        if (TokenText.IdOf(text) is not { } id)
            return TokenVerdict.Invalid("the token is malformed");
        if (!_byId.TryGetValue(id, out var t) || !TokenText.SameHash(t.Hash, TokenText.Hash(text)))
            return TokenVerdict.Invalid($"token {id} is unknown", unknownId: !_byId.ContainsKey(id));
        if (t.Info.RevokedAt is { } revoked)
            return TokenVerdict.Invalid($"token {id} was revoked at {revoked:u}");
        if (t.Info.ExpiresAt is { } expires && expires <= now)
            return TokenVerdict.Invalid($"token {id} expired at {expires:u}");
        if (t.Info.Role is not (Role.Viewer or Role.Operator or Role.Admin))
            return TokenVerdict.Invalid($"token {id} has no role");
        return TokenVerdict.Valid(t.Info);
    }

    /// <summary>
    /// Decides a new token whose text is <paramref name="text"/> (made by the caller from a random source): the reply
    /// and the event to persist, or a refusal with no event.
    /// </summary>
    public (object Reply, ITokenEvent? Event) Decide(CreateToken create, string text, DateTime now)
    {
        if (create.Role is not (Role.Viewer or Role.Operator or Role.Admin))
            return (new ValidationFailed("role", $"'{create.Role}' is no role (viewer, operator or admin)"), null);
        if (!IsValidName(create.Name))
            return (new ValidationFailed("name", $"'{create.Name}' is not a valid token name: use 1-64 of letters, digits, ' ', '.', '_', '@' and '-'"), null);
        if (create.ExpiresAt.Kind != DateTimeKind.Utc || create.ExpiresAt <= now)
            return (new ValidationFailed("expires", $"the expiry {create.ExpiresAt:u} is not a future UTC time"), null);
        var id = TokenText.IdOf(text) ?? throw new ArgumentException("not a token text", nameof(text));
        if (_byId.ContainsKey(id))
            return (new ValidationFailed("id", $"token id {id} exists; try again"), null);
        var info = new TokenInfo(id, create.Name, create.Role, now, create.ExpiresAt, null);
        return (new TokenCreated(info, text), new TokenIssued(info, TokenText.Hash(text)));
    }

    /// <summary>Decides an import: a known id is left as it is.</summary>
    public (object Reply, ITokenEvent? Event) Decide(ImportToken import)
    {
        if (_byId.ContainsKey(import.Info.Id))
            return (new TokenImported(import.Info.Id), null);
        if (import.Info.Role is not (Role.Viewer or Role.Operator or Role.Admin) || !IsValidName(import.Info.Name)
            || import.Hash is not { Length: 64 } || !import.Hash.All(char.IsAsciiHexDigitLower) || import.Info.RevokedAt is not null)
            return (new ValidationFailed("token", "the imported token needs a role, a valid name, a SHA-256 hash and no revocation"), null);
        return (new TokenImported(import.Info.Id), new TokenIssued(import.Info, import.Hash));
    }

    /// <summary>Decides a revocation: unknown ids are not found, a revoked token keeps its first revocation time.</summary>
    public (object Reply, ITokenEvent? Event) Decide(RevokeToken revoke, DateTime now)
    {
        if (revoke.Id is null || !_byId.TryGetValue(revoke.Id, out var t))
            return (new TokenNotFound(revoke.Id ?? ""), null);
        if (t.Info.RevokedAt is { } at)
            return (new TokenRevocation(revoke.Id, at), null);
        return (new TokenRevocation(revoke.Id, now), new TokenRevoked(revoke.Id, now));
    }

    private static bool IsValidName(string? name) =>
        name is { Length: >= 1 and <= 64 } && name.All(c => char.IsAsciiLetterOrDigit(c) || c is ' ' or '.' or '_' or '@' or '-');
}
