using Cluster.Contracts.Access;
using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Client;

namespace Cluster.Node.Tests.Vmctl;

public sealed class TokenVerbsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vmctl-tokens", Guid.NewGuid().ToString("N"));

    private static (bool Ok, object? Request, string? Error) Prepare(params string[] args)
    {
        var ok = VmctlApp.TryPrepare(CommandLine.Parse(args, out _)!, out _, out var request, out var error);
        return (ok, request, error);
    }

    [Fact]
    public void Builds_the_token_and_audit_requests_and_refuses_bad_ones()
    {
        var create = Assert.IsType<CreateToken>(Prepare("token", "create", "--role", "viewer", "--name", "dash", "--expires", "12h").Request);
        Assert.Equal((Role.Viewer, "dash"), (create.Role, create.Name));
        Assert.InRange(create.ExpiresAt - DateTime.UtcNow, TimeSpan.FromHours(11.9), TimeSpan.FromHours(12));
        Assert.InRange(Assert.IsType<CreateToken>(Prepare("token", "create", "--role", "admin").Request).ExpiresAt - DateTime.UtcNow,
            TimeSpan.FromDays(29.9), TimeSpan.FromDays(30));
        Assert.Same(ListTokens.Instance, Prepare("token", "list").Request);
        Assert.Equal(new RevokeToken("0123456789ab"), Prepare("token", "revoke", "0123456789ab").Request);
        Assert.Equal(new ListAudit(7), Prepare("audit", "--limit", "7").Request);
        Assert.Contains("needs --role", Prepare("token", "create").Error);
        Assert.Contains("bad --role", Prepare("token", "create", "--role", "root").Error);
        Assert.Contains("bad --expires", Prepare("token", "create", "--role", "viewer", "--expires", "forever").Error);
        Assert.Contains("'token list' does not take --role", Prepare("token", "list", "--role", "viewer").Error);
        Assert.Contains("bad --limit", Prepare("audit", "--limit", "0").Error);
    }

    [Fact]
    public void Finds_the_token_in_order_option_environment_file_data_directory()
    {
        Directory.CreateDirectory(_dir);
        var inData = TokenText.New(out _);
        File.WriteAllText(Path.Combine(_dir, TokenText.AdminTokenFile), inData + "\n");
        var inEnvironment = TokenText.New(out _);
        var given = TokenText.New(out _);
        string? Env(string name) => name == TokenSource.EnvironmentVariable ? inEnvironment : null;
        Assert.Equal(given, TokenSource.Find(given, null, _dir, Env, out _));
        Assert.Equal(inEnvironment, TokenSource.Find(null, null, _dir, Env, out _));
        Assert.Equal(inData, TokenSource.Find(null, null, _dir, _ => null, out _));
        Assert.Equal(inData, TokenSource.Find(null, Path.Combine(_dir, TokenText.AdminTokenFile), null, _ => null, out _));
        Assert.Null(TokenSource.Find(null, null, Path.Combine(_dir, "none"), _ => null, out var missing));
        Assert.Contains("no token file", missing);
        Assert.Null(TokenSource.Find("hunter2", null, null, _ => null, out var malformed));
        Assert.Contains("malformed", malformed);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }
}
