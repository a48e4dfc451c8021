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
    public async Task Exits_with_the_usage_code_for_an_unknown_command_or_option()
    {
        var stderr = new StringWriter();
        Assert.Equal(ExitCodes.Usage, await VmctlApp.RunAsync(["frobnicate"], TextWriter.Null, stderr));
        Assert.Equal(ExitCodes.Usage, await VmctlApp.RunAsync(["stop", "a", "--bogus", "1"], TextWriter.Null, stderr));
        Assert.Equal(ExitCodes.Usage, await VmctlApp.RunAsync(["start"], TextWriter.Null, stderr));
        Assert.Contains("unknown command 'frobnicate'", stderr.ToString());
    }
}
