using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Cli.Commands;

namespace Cluster.Node.Tests.Vmctl;

public class HelpTests
{
    /// <summary>An address where nothing listens: a command that reached for the node would exit 3.</summary>
    private static readonly string[] Nowhere = ["--server", "https://127.0.0.1:1", "--token", Cluster.Contracts.Access.TokenText.New(out _), "--timeout", "1"];

    private static async Task<(int Code, string Stdout, string Stderr)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await VmctlApp.RunAsync(args, stdout, stderr, ansi: false);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Delete_with_help_prints_its_help_to_stdout_and_deletes_nothing(string help)
    {
        var (code, stdout, stderr) = await Run(["delete", "web-1", help, .. Nowhere]);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains(" delete [<ID>] [options]", stdout);
        Assert.Contains("Examples:\n  vmctl delete web-1", stdout.ReplaceLineEndings("\n"));
        Assert.Equal("", stderr);
        Assert.Equal(ExitCodes.Unreachable, (await Run(["delete", "web-1", .. Nowhere])).Code);
    }

    [Fact]
    public async Task Help_on_a_subcommand_and_the_help_verb_say_the_same_on_stdout()
    {
        var (code, stdout, _) = await Run("help", "token", "create");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("--role <ROLE>", stdout);
        Assert.Equal(stdout, (await Run("token", "create", "--help")).Stdout);
        Assert.DoesNotContain("additional arguments", stdout, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_root_help_lists_every_command_and_the_exit_codes_and_no_command_is_a_usage_error()
    {
        var (code, stdout, _) = await Run("-h");
        Assert.Equal(ExitCodes.Ok, code);
        foreach (var verb in CommandTree.Root.Subcommands.Where(c => !c.Hidden))
            Assert.Matches($@"\n  (\S+, )?{verb.Name}\b", stdout.ReplaceLineEndings("\n"));
        Assert.Contains("Exit codes: 0 ok", stdout);
        var none = await Run();
        Assert.Equal(ExitCodes.Usage, none.Code);
        Assert.Contains("Usage:", none.Stderr);
    }

    [Fact]
    public async Task Prints_its_version()
    {
        var (code, stdout, _) = await Run("--version");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Matches(@"^\d+\.\d+\.\d+", stdout);
    }

    [Fact]
    public void Every_command_has_a_description_and_an_example()
    {
        static IEnumerable<System.CommandLine.Command> All(System.CommandLine.Command c) => c.Subcommands.SelectMany(s => All(s).Prepend(s));
        foreach (var command in All(CommandTree.Root).Where(c => !c.Hidden))
        {
            var verb = Assert.IsType<VerbCommand>(command);
            Assert.False(string.IsNullOrWhiteSpace(verb.Description), verb.Name);
            Assert.True(verb.Examples.Count > 0, $"'{verb.Name}' has no example");
            Assert.All(verb.Examples, e => Assert.StartsWith("vmctl ", e.Replace("source <(", "").Replace("VMCTL_CONTEXT=prod ", "")));
        }
    }
}
