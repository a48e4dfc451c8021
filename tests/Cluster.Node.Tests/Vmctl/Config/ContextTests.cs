using Cluster.Contracts.Access;
using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Config;

namespace Cluster.Node.Tests.Vmctl.Config;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ContextTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vmctl-config", Guid.NewGuid().ToString("N"));
    private readonly Dictionary<string, string?> _env = [];

    public ContextTests() => _env[VmctlConfig.FileVariable] = Path.Combine(_dir, "config.yaml");

    private string? Env(string name) => _env.GetValueOrDefault(name);

    private (int Code, string Out, string Err) Config(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = LocalVerbs.Run(CommandLine.Parse(["config", .. args], out _)!, stdout, stderr, Env) ?? -1;
        return (code, stdout.ToString(), stderr.ToString());
    }

    private Target? Resolve(out string? error, params string[] args) => Target.Resolve(CommandLine.Parse([.. args, "list"], out _)!, Env, out error);

    [Fact]
    public void Sets_uses_lists_and_deletes_contexts_in_a_file_only_its_owner_reads()
    {
        var token = TokenText.New(out _);
        Assert.Equal(ExitCodes.Ok, Config("set-context", "prod", "--server", "https://10.0.0.1:4770", "--token", token).Code);
        Assert.Equal(ExitCodes.Ok, Config("set-context", "lab", "--server", "https://10.0.0.9:4770", "--cacert", "lab.pem").Code);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_env[VmctlConfig.FileVariable]!));
        Assert.Equal("prod\n", Config("current-context").Out);
        Assert.Equal(ExitCodes.Ok, Config("use-context", "lab").Code);
        Assert.Equal("lab\n", Config("current-context").Out);
        var table = Config("get-contexts").Out.Split('\n');
        Assert.Matches(@"^\*\s+lab\s+https://10\.0\.0\.9:4770\s+\S*lab\.pem", table[1]);
        Assert.Contains("(in the file)", table[2]);
        Assert.DoesNotContain(token, Config("get-contexts", "-o", "yaml").Out);
        Assert.Equal(ExitCodes.Ok, Config("delete-context", "lab").Code);
        Assert.Equal(ExitCodes.Refused, Config("current-context").Code);
    }

    [Fact]
    public void Refuses_unknown_contexts_and_bad_servers_clearly()
    {
        Config("set-context", "prod", "--server", "https://10.0.0.1:4770", "--token", TokenText.New(out _));
        var use = Config("use-context", "stage");
        Assert.Equal(ExitCodes.Usage, use.Code);
        Assert.Contains("no context 'stage'", use.Err);
        Assert.Contains("(it has prod)", use.Err);
        Assert.Contains("https://HOST:PORT", Config("set-context", "x", "--server", "http://10.0.0.1").Err);
        Assert.Contains("needs --server", Config("set-context", "y").Err);
        Assert.Null(Resolve(out var error, "--context", "stage"));
        Assert.Contains("no context 'stage'", error);
        _env[VmctlConfig.ContextVariable] = "qa";
        Assert.Null(Resolve(out error));
        Assert.Contains("no context 'qa'", error);
    }

    [Fact]
    public void Takes_server_ca_and_token_from_the_context_unless_flags_or_the_environment_say_otherwise()
    {
        var inContext = TokenText.New(out _);
        Directory.CreateDirectory(_dir);
        var tokenFile = Path.Combine(_dir, "prod.token");
        File.WriteAllText(tokenFile, inContext + "\n");
        Config("set-context", "prod", "--server", "https://10.0.0.1:4770", "--cacert", "/etc/ca.pem", "--token-file", tokenFile);
        var target = Resolve(out var error)!;
        Assert.Null(error);
        Assert.Equal(("https://10.0.0.1:4770", "/etc/ca.pem", inContext), (target.Server, target.CaFile, target.Token));

        var fromEnvironment = TokenText.New(out _);
        _env["VMCTL_SERVER"] = "https://10.0.0.2:4770";
        _env["VMCTL_CACERT"] = "/env/ca.pem";
        _env["VMCTL_TOKEN"] = fromEnvironment;
        target = Resolve(out _)!;
        Assert.Equal(("https://10.0.0.2:4770", "/env/ca.pem", fromEnvironment), (target.Server, target.CaFile, target.Token));

        var given = TokenText.New(out _);
        target = Resolve(out _, "--server", "https://10.0.0.3:4770", "--cacert", "/flag/ca.pem", "--token", given)!;
        Assert.Equal(("https://10.0.0.3:4770", "/flag/ca.pem", given), (target.Server, target.CaFile, target.Token));

        _env.Remove("VMCTL_SERVER");
        Assert.Null(Resolve(out _, "--node", "10.0.0.4:4053")!.Server);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }
}
