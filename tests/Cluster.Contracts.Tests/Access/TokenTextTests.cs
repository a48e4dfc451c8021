using Cluster.Contracts.Access;
using Cluster.Contracts.Validation;

namespace Cluster.Contracts.Tests.Access;

public sealed class TokenTextTests
{
    [Fact]
    public void A_new_token_carries_its_id_and_256_random_bits_and_differs_every_time()
    {
        var a = TokenText.New(out var id);
        var b = TokenText.New(out var otherId);
        Assert.Equal(id, TokenText.IdOf(a));
        Assert.Matches("^cht_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$", a);
        Assert.NotEqual(a, b);
        Assert.NotEqual(id, otherId);
        Assert.Equal(32, Convert.FromBase64String(a[^43..].Replace('-', '+').Replace('_', '/') + "=").Length);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Bearer cht_0123456789ab_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("cht_0123456789AB_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("cht_0123456789ab_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("cht_0123456789ab_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=")]
    [InlineData("xyz_0123456789ab_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void A_malformed_token_has_no_id(string? text) => Assert.Null(TokenText.IdOf(text));

    [Fact]
    public void The_hash_is_the_sha256_of_the_text_and_compares_by_value()
    {
        var token = TokenText.New(out _);
        var hash = TokenText.Hash(token);
        Assert.Matches("^[0-9a-f]{64}$", hash);
        Assert.True(TokenText.SameHash(hash, TokenText.Hash(token)));
        Assert.False(TokenText.SameHash(hash, TokenText.Hash(token + "x")));
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", TokenText.Hash("abc"));
    }

    [Theory]
    [InlineData("90m", 5400)]
    [InlineData("12h", 43200)]
    [InlineData("30d", 2592000)]
    [InlineData("1s", 1)]
    public void Durations_read_with_their_unit(string text, long seconds)
    {
        Assert.True(DurationText.TryParse(text, out var d));
        Assert.Equal(TimeSpan.FromSeconds(seconds), d);
    }

    [Theory]
    [InlineData("30")]
    [InlineData("0d")]
    [InlineData("-1d")]
    [InlineData("1w")]
    [InlineData("99999d")]
    [InlineData(null)]
    public void Bad_durations_are_refused(string? text) => Assert.False(DurationText.TryParse(text, out _));

    [Theory]
    [InlineData("127.0.0.1:4053", true)]
    [InlineData("host-1.example:80", true)]
    [InlineData("h1:1", true)]
    [InlineData("h1", false)]
    [InlineData("h1:0", false)]
    [InlineData("h1:65536", false)]
    [InlineData(":80", false)]
    [InlineData("-h:80", false)]
    [InlineData("a b:80", false)]
    [InlineData("../x:80", false)]
    public void Host_names_are_host_and_port(string text, bool valid) => Assert.Equal(valid, HostText.IsValid(text));

    [Fact]
    public void Messages_that_carry_a_token_never_print_it()
    {
        var token = TokenText.New(out var id);
        var sealedCommand = new BearerCommand(token, "Cluster.Contracts.Commands.ListVms", [0x90]);
        Assert.DoesNotContain(token, sealedCommand.ToString());
        Assert.Contains(id, sealedCommand.ToString());
        var created = new TokenCreated(new TokenInfo(id, "n", Role.Viewer, DateTime.UtcNow, null, null), token);
        Assert.DoesNotContain(token, created.ToString());
    }
}
