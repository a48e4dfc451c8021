using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Cluster.Node.DiskCommand;
using Cluster.Node.Hosting;
using Cluster.Node.Security;
using Cluster.Node.VmmCommand;

namespace Cluster.Node.Cli;

/// <summary>
/// cluster-node's command line, defined once on System.CommandLine: <c>run</c>, <c>vmm run|serve</c>,
/// <c>disk create|info|convert|check|exercise</c>, <c>ca init|issue|revoke|rotate|retire</c>, <c>--version</c>.
/// Per-command <c>--help</c>/<c>-h</c> (to standard output, with examples), <c>--opt=value</c>, the <c>--</c>
/// terminator, and no response files (an argument starting with @ is a value like any other). A usage error prints
/// the reason and the command's help to standard error and returns the command's usage exit code.
/// <c>vmm serve</c> is parsed by <see cref="VmmServeCommand"/> itself: the worker program (which carries no parser
/// library) shares that code; the tree lists it for help only.
/// </summary>
public static class NodeCli
{
    /// <summary>The usage exit code where a command names none.</summary>
    public const int DefaultUsageExit = 2;

    private static readonly ParserConfiguration Parsing = new() { ResponseFileTokenReplacer = null };

    /// <summary>Builds the whole tree (cheap: a few dozen objects).</summary>
    public static Command Build()
    {
        // A plain command named as the program rather than a RootCommand, whose name (and so every usage line) would be
        // the name of whatever process hosts the parser.
        var root = new CliCommand("cluster-node", "a host of the cluster hypervisor (a node), its VMM, disk images and the cluster CA")
            .With(new HelpOption(), new Option<bool>("--version") { Description = "Show version information", Arity = ArgumentArity.Zero });
        root.Subcommands.Add(NodeOptions.Command());
        root.Subcommands.Add(new CliCommand("vmm", "one VM without the cluster: run a guest here, or serve one as a VMM worker")
            .With(VmmRunOptions.Command(), VmmServeHelp()));
        root.Subcommands.Add(DiskCommands.Command());
        root.Subcommands.Add(CaCommand.Command());
        foreach (var option in root.Options)
        {
            if (option is HelpOption)
                option.Action = new CliHelp();
            else if (option.Name == "--version")
                option.Action = new VersionAction();
        }
        return root;
    }

    /// <summary>Runs a whole command line; returns the process exit code.</summary>
    public static int Run(IReadOnlyList<string> args, CliIo io)
    {
        if (args.Count >= 2 && args[0] == "vmm" && args[1] == "serve")
            return VmmServeCommand.Run(args.Skip(2).ToArray(), io.Error);
        var result = Build().Parse(args, Parsing);
        var command = result.CommandResult.Command;
        if (result.Action is CliHelp or VersionAction)
            return result.Invoke(new InvocationConfiguration { Output = io.Out, Error = io.Error });
        if (UnknownOption(result) is { } unknown)
            return UsageError(result, io, $"unknown option '{unknown}'");
        if (result.Errors.Count > 0)
            return UsageError(result, io, FirstError(result));
        if (command is CliCommand { Handler: { } handler })
            return handler(CliArgs.From(result), io);
        return UsageError(result, io, command.Parents.Any() ? $"'{Path(result)}' needs a subcommand" : "no command given");
    }

    /// <summary>Parses the words after <paramref name="path"/> (for example "run") for that command alone; null with
    /// <paramref name="error"/> for a usage error. Used by the commands' Parse methods (and their tests).</summary>
    public static CliArgs? Parse(string[] path, IReadOnlyList<string> args, out string? error)
    {
        var result = Build().Parse([.. path, .. args], Parsing);
        error = UnknownOption(result) is { } unknown ? $"unknown option '{unknown}'"
            : result.Errors.Count > 0 ? Message(FirstError(result)) : null;
        return error is null ? CliArgs.From(result) : null;
    }

    /// <summary>Prints "cluster-node CMD: reason" and the command's help to standard error.</summary>
    public static int UsageError(ParseResult result, CliIo io, string reason)
    {
        var path = Path(result);
        io.Error.WriteLine($"cluster-node{(path.Length > 0 ? " " + path : "")}: {Message(reason)}");
        CliHelp.Write(result, io.Error);
        return UsageExit(result.CommandResult);
    }

    /// <summary>A usage error of a command that parsed but whose values do not hold together (reported by the command).</summary>
    public static int UsageError(string[] path, CliIo io, string reason) =>
        UsageError(Build().Parse(path, Parsing), io, reason);

    /// <summary>The error to show first: a word nobody takes (the likely typo) before what is missing.</summary>
    private static string FirstError(ParseResult result) =>
        (result.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? result.Errors[0]).Message;

    /// <summary>An operand that looks like an option (System.CommandLine takes an unknown "--frobnicate" as a positional
    /// value), unless it follows the "--" terminator; null when there is none.</summary>
    private static string? UnknownOption(ParseResult result)
    {
        var terminator = -1;
        for (var i = 0; i < result.Tokens.Count; i++)
            if (result.Tokens[i].Type == TokenType.DoubleDash) { terminator = i; break; }
        foreach (var child in result.CommandResult.Children)
        {
            if (child is not ArgumentResult argument)
                continue;
            foreach (var token in argument.Tokens)
            {
                var at = IndexOf(result.Tokens, token);
                if (token.Value.Length > 1 && token.Value[0] == '-' && (terminator < 0 || at < terminator))
                    return token.Value;
            }
        }
        return null;
    }

    private static int IndexOf(IReadOnlyList<Token> tokens, Token token)
    {
        for (var i = 0; i < tokens.Count; i++)
            if (ReferenceEquals(tokens[i], token))
                return i;
        return -1;
    }

    private static string Message(string text) => text.TrimEnd('.');

    private static string Path(ParseResult result)
    {
        var names = new List<string>();
        for (SymbolResult? c = result.CommandResult; c is CommandResult { Parent: CommandResult } command; c = command.Parent)
            names.Insert(0, command.Command.Name);
        return string.Join(' ', names);
    }

    private static int UsageExit(CommandResult command)
    {
        for (SymbolResult? c = command; c is CommandResult r; c = r.Parent)
            if (r.Command is CliCommand { UsageExitCode: { } code })
                return code;
        return DefaultUsageExit;
    }

    private static CliCommand VmmServeHelp() =>
        new CliCommand("serve", "a VMM worker process for one VM, started by the node (its options: 'cluster-node vmm serve --help')")
        {
            TreatUnmatchedTokensAsErrors = false,
        };

    /// <summary>"cluster-node VERSION" (the product version of Directory.Build.props, with the commit where the SDK found one).</summary>
    private sealed class VersionAction : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            var assembly = typeof(NodeCli).Assembly;
            parseResult.InvocationConfiguration.Output.WriteLine("cluster-node " + (System.Reflection.CustomAttributeExtensions
                .GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>(assembly)?.InformationalVersion ?? "unknown"));
            return 0;
        }
    }
}
