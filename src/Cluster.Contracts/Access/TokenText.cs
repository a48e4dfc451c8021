using System.Security.Cryptography;
using System.Text;

namespace Cluster.Contracts.Access;

/// <summary>
/// The text of a bearer token: <c>cht_ID_SECRET</c>, where ID is 12 hex digits (the token's public id, in listings
/// and the audit log) and SECRET 256 random bits in base64url. The cluster stores only the SHA-256 of the whole text.
/// </summary>
public static class TokenText
{
    /// <summary>The file in a node's data directory that holds its bootstrap admin token (mode 0600).</summary>
    public const string AdminTokenFile = "admin.token";

    private const string Prefix = "cht_";
    private const int IdLength = 12;
    private const int SecretLength = 43;

    /// <summary>A new token from the system's random number generator; <paramref name="id"/> is its public id.</summary>
    public static string New(out string id)
    {
        id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdLength / 2));
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return $"{Prefix}{id}_{secret}";
    }

    /// <summary>The id of a well-formed token, or null when <paramref name="text"/> is not one.</summary>
    public static string? IdOf(string? text)
    {
        if (text is null || text.Length != Prefix.Length + IdLength + 1 + SecretLength || !text.StartsWith(Prefix, StringComparison.Ordinal)
            || text[Prefix.Length + IdLength] != '_')
            return null;
        var id = text.Substring(Prefix.Length, IdLength);
        var secret = text.AsSpan(Prefix.Length + IdLength + 1);
        return id.All(char.IsAsciiHexDigitLower) && !secret.ContainsAnyExcept(Base64UrlChars) ? id : null;
    }

    /// <summary>The SHA-256 of the token's text, in lower-case hex: the only form the cluster keeps.</summary>
    public static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Whether two hashes are equal, in time that does not depend on where they differ.</summary>
    public static bool SameHash(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));

    private static readonly System.Buffers.SearchValues<char> Base64UrlChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
}
