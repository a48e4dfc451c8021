using Cluster.Vmctl.Cli;

namespace Cluster.Node.Tests.Vmctl;

public class CommandLineTests
{
    [Fact]
    public void Separates_the_verb_positionals_flags_and_repeated_options()
    {
        var line = CommandLine.Parse(["--json", "create", "a", "--arg", "1", "--arg", "2", "--start"], out var error)!;
        Assert.Null(error);
        Assert.Equal("create", line.Verb);
        Assert.Equal(["a"], line.Positional);
        Assert.True(line.Has("--json"));
        Assert.True(line.Has("--start"));
        Assert.Equal(["1", "2"], line.All("--arg"));
    }

    [Fact]
    public void Refuses_an_option_without_its_value()
    {
        Assert.Null(CommandLine.Parse(["show", "--node"], out var error));
        Assert.Contains("--node", error);
    }

    [Fact]
    public void Reads_an_option_written_with_an_equals_sign_before_the_verb()
    {
        var line = CommandLine.Parse(["--node=h:1", "list", "-o=yaml"], out _)!;
        Assert.Equal(("list", "h:1", "yaml"), (line.Verb, line.Get("--node"), line.Get("--output")));
    }

    [Fact]
    public void Takes_words_after_the_terminator_as_arguments_even_when_they_look_like_options()
    {
        var line = CommandLine.Parse(["show", "--", "-odd"], out _)!;
        Assert.Equal(["-odd"], line.Positional);
        Assert.Empty(line.UnknownOptions);
    }

    [Fact]
    public void Keeps_the_last_value_of_an_option_given_twice_and_reads_short_aliases()
    {
        var line = CommandLine.Parse(["--timeout", "20", "console", "a", "-i", "--timeout", "1"], out _)!;
        Assert.Equal("1", line.Get("--timeout"));
        Assert.True(line.Has("--interactive"));
    }

    [Fact]
    public void Names_subcommands_in_the_path_and_reads_aliases_as_their_command()
    {
        var token = CommandLine.Parse(["token", "revoke", "x"], out _)!;
        Assert.Equal(("token", "token revoke"), (token.Verb, token.Path));
        Assert.Equal(["revoke", "x"], token.Positional);
        Assert.Equal("nodes", CommandLine.Parse(["hosts"], out _)!.Verb);
        Assert.Equal("top", CommandLine.Parse(["watch", "--once"], out _)!.Verb);
    }

    [Fact]
    public async Task Exits_with_the_usage_code_for_an_unknown_command_or_option()
    {
        var stderr = new StringWriter();
        Assert.Equal(ExitCodes.Usage, await VmctlApp.RunAsync(["frobnicate"], TextWriter.Null, stderr));
        Assert.Equal(ExitCodes.Usage, await VmctlApp.RunAsync(["stop", "a", "--bogus", "1"], TextWriter.Null, stderr));
        Assert.Equal(ExitCodes.Usage, await VmctlApp.RunAsync(["start"], TextWriter.Null, stderr));
        Assert.Contains("unknown command 'frobnicate'", stderr.ToString());
        Assert.Contains("'stop' does not take --bogus", stderr.ToString());
    }

    [Theory]
    [InlineData(new[] { "list", "-o", "xml" }, "bad --output 'xml' (table, wide, json or yaml)")]
    [InlineData(new[] { "list", "--json", "-o", "yaml" }, "--json and -o yaml disagree")]
    [InlineData(new[] { "get", "a" }, "'get' takes 'vm ID'")]
    [InlineData(new[] { "apply" }, "'apply' needs -f FILE")]
    public async Task Refuses_bad_formats_and_new_verbs_without_their_arguments_before_any_node(string[] args, string message)
    {
        var stderr = new StringWriter();
        Assert.Equal(ExitCodes.Usage, await VmctlApp.RunAsync([.. args, "--server", "https://127.0.0.1:1", "--token", Cluster.Contracts.Access.TokenText.New(out _)],
            TextWriter.Null, stderr));
        Assert.Contains(message, stderr.ToString());
    }
}
