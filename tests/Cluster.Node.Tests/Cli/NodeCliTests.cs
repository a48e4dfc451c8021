using System.CommandLine;
using Cluster.Node.Cli;
using Cluster.Node.Hosting;
using Cluster.Node.VmmCommand;

namespace Cluster.Node.Tests.Cli;

/// <summary>cluster-node's command line on System.CommandLine: help per command to stdout, usage errors to stderr
/// with the command's exit code, --opt=value, --, no response files, the version.</summary>
public class NodeCliTests
{
    private static (int Exit, string Stdout, string Stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = NodeCli.Run(args, CliIo.Of(stdout, stderr));
        return (exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Every command of the tree, as the words that name it (generated from the tree, so a new command is covered).</summary>
    public static TheoryData<string> Commands()
    {
        var data = new TheoryData<string>();
        void Walk(Command command, string path)
        {
            data.Add(path);
            foreach (var sub in command.Subcommands)
                Walk(sub, (path + " " + sub.Name).Trim());
        }
        Walk(NodeCli.Build(), "");
        return data;
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_command_prints_its_help_to_stdout_with_exit_0_for_both_spellings(string path)
    {
        if (path == "vmm serve")
            return; // parsed by the worker's own code (VmmServeCommand), which prints its usage itself
        foreach (var flag in new[] { "--help", "-h" })
        {
            var words = path.Split(' ', StringSplitOptions.RemoveEmptyEntries).Append(flag).ToArray();
            var (exit, stdout, stderr) = Run(words);
            Assert.Equal(0, exit);
            Assert.Equal("", stderr);
            Assert.Contains($"cluster-node {path}".TrimEnd(), stdout);
            Assert.Contains("Usage:", stdout);
        }
    }

    [Fact]
    public void Help_after_a_verb_never_runs_it()
    {
        using var dir = new Cluster.Vmm.Tests.Storage.ScratchDir();
        var image = dir.File("x.qcow2");
        var (exit, stdout, _) = Run("disk", "create", "--format", "qcow2", "--size", "1M", image, "--help");
        Assert.Equal(0, exit);
        Assert.Contains("--backing-format", stdout);
        Assert.False(File.Exists(image));
    }

    [Fact]
    public void Options_take_their_value_after_an_equals_sign_and_repeat_in_order()
    {
        var options = NodeOptions.Parse(["--port=0", "--seed=127.0.0.1:1", "--seed", "127.0.0.1:2", "--label=zone=a", "--memory=2G"], out var error);
        Assert.Null(error);
        Assert.Equal(0, options!.Port);
        Assert.Equal(["127.0.0.1:1", "127.0.0.1:2"], options.Cluster!.Seeds);
        Assert.Equal("a", options.Cluster.Labels["zone"]);
        Assert.Equal(2UL << 30, options.Cluster.MemoryBytes);
    }

    [Fact]
    public void A_single_value_option_given_twice_takes_the_last_value()
    {
        // The packaged unit's ExecStart carries the options file's --http, and an operator may add another.
        var options = NodeOptions.Parse(["--http", "127.0.0.1:1", "--port", "5", "--http=127.0.0.1:2"], out var error);
        Assert.Null(error);
        Assert.Equal(("127.0.0.1:2", 5), (options!.Http, options.Port));
    }

    [Fact]
    public void An_at_sign_is_a_value_not_a_response_file_and_the_terminator_ends_options()
    {
        var run = VmmRunOptions.Parse(["--arg", "@args.txt", "--", "builtin:hello"], out var error);
        Assert.Null(error);
        Assert.Equal(["@args.txt"], run!.Machine.Args);
        Assert.Equal("hello", ((Cluster.Vmm.Machine.BuiltInGuestImage)run.Machine.Image).Name);
    }

    [Theory]
    [InlineData("run --bogus 1", 2, "cluster-node run: Unrecognized command or argument '--bogus'")]
    [InlineData("run --port 70000", 2, "cluster-node run: bad port '70000'")]
    [InlineData("run --port", 2, "cluster-node run: Required argument missing for option: '--port'")]
    [InlineData("vmm run --vcpus 0 builtin:hello", 2, "cluster-node vmm run: bad vCPU count '0'")]
    [InlineData("disk create --size 1M x", 64, "cluster-node disk create: --format must be raw or qcow2")]
    [InlineData("ca issue --ca /nonexistent", 2, "cluster-node ca issue: Required argument missing for command: 'issue'")]
    [InlineData("frobnicate", 2, "Unrecognized command or argument 'frobnicate'")]
    [InlineData("", 2, "cluster-node: Required command was not provided")]
    public void A_usage_error_names_the_command_and_the_reason_on_stderr_then_its_help(string line, int code, string message)
    {
        var (exit, stdout, stderr) = Run(line.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(code, exit);
        Assert.Equal("", stdout);
        Assert.Contains(message, stderr);
        Assert.Contains("Usage:", stderr);
    }

    [Fact]
    public void The_version_names_the_program()
    {
        var (exit, stdout, _) = Run("--version");
        Assert.Equal(0, exit);
        Assert.StartsWith("cluster-node ", stdout);
    }
}
