using Cluster.Actors.Access;
using Cluster.Contracts.Access;
using Cluster.Contracts.Replies;

namespace Cluster.Actors.Tests.Access;

public sealed class TokenBookTests
{
    private static readonly DateTime Now = new(2026, 12, 6, 12, 0, 0, DateTimeKind.Utc);

    private static (TokenBook Book, string Token) Issue(TokenBook book, Role role, DateTime expires)
    {
        var text = TokenText.New(out _);
        var (reply, e) = book.Decide(new CreateToken(role, "t", expires), text, Now);
        Assert.Equal(text, Assert.IsType<TokenCreated>(reply).Token);
        return (book.Apply(e!), text);
    }

    [Fact]
    public void An_issued_token_verifies_with_its_role_and_only_its_hash_is_kept()
    {
        var (book, token) = Issue(TokenBook.Empty, Role.Operator, Now.AddDays(1));
        var verdict = book.Verify(token, Now);
        Assert.Equal((Role.Operator, TokenText.IdOf(token)), (verdict.Token!.Role, verdict.Token.Id));
        var (_, e) = TokenBook.Empty.Decide(new CreateToken(Role.Viewer, "v", Now.AddDays(1)), token, Now);
        Assert.DoesNotContain(token, e!.ToString());
    }

    [Fact]
    public void A_token_is_refused_when_expired_revoked_unknown_forged_or_missing()
    {
        var (book, token) = Issue(TokenBook.Empty, Role.Admin, Now.AddHours(1));
        Assert.Contains("expired", book.Verify(token, Now.AddHours(1)).Problem);
        var id = TokenText.IdOf(token)!;
        var (reply, revoked) = book.Decide(new RevokeToken(id), Now);
        Assert.IsType<TokenRevocation>(reply);
        Assert.Contains("revoked", book.Apply(revoked!).Verify(token, Now).Problem);
        var unknown = book.Verify(TokenText.New(out _), Now);
        Assert.True(unknown is { Token: null, UnknownId: true });
        var forged = book.Verify(token[..^1] + (token[^1] == 'A' ? 'B' : 'A'), Now);
        Assert.True(forged is { Token: null, UnknownId: false });
        Assert.Contains("no token", book.Verify(null, Now).Problem);
        Assert.Contains("malformed", book.Verify("hunter2", Now).Problem);
    }

    [Fact]
    public void Bad_requests_are_refused_without_an_event()
    {
        var text = TokenText.New(out _);
        Assert.Equal("role", Assert.IsType<ValidationFailed>(TokenBook.Empty.Decide(new CreateToken(Role.None, "x", Now.AddDays(1)), text, Now).Reply).Field);
        Assert.Equal("name", Assert.IsType<ValidationFailed>(TokenBook.Empty.Decide(new CreateToken(Role.Viewer, "<script>", Now.AddDays(1)), text, Now).Reply).Field);
        Assert.Equal("expires", Assert.IsType<ValidationFailed>(TokenBook.Empty.Decide(new CreateToken(Role.Viewer, "x", Now), text, Now).Reply).Field);
        Assert.Null(TokenBook.Empty.Decide(new CreateToken(Role.Viewer, "x", Now), text, Now).Event);
        Assert.IsType<TokenNotFound>(TokenBook.Empty.Decide(new RevokeToken("0123456789ab"), Now).Reply);
    }

    [Fact]
    public void Importing_a_known_id_changes_nothing_so_a_revoked_bootstrap_token_stays_revoked()
    {
        var text = TokenText.New(out var id);
        var import = new ImportToken(new TokenInfo(id, "bootstrap-admin", Role.Admin, Now, null, null), TokenText.Hash(text));
        var (_, issued) = TokenBook.Empty.Decide(import);
        var book = TokenBook.Empty.Apply(issued!);
        book = book.Apply(book.Decide(new RevokeToken(id), Now).Event!);
        var (again, none) = book.Decide(import);
        Assert.IsType<TokenImported>(again);
        Assert.Null(none);
        Assert.Contains("revoked", book.Verify(text, Now).Problem);
        Assert.Equal(Now, book.Decide(new RevokeToken(id), Now.AddDays(1)).Reply is TokenRevocation r ? r.RevokedAt : default);
    }
}
