using Cluster.Vmctl.Cli.Commands;
using Cluster.Vmctl.Cli.Completion;
using Cluster.Vmctl.Config;

namespace Cluster.Vmctl.Cli;

/// <summary>The verbs vmctl answers without a node: help, config, completion.</summary>
public static class LocalVerbs
{
    /// <summary>The exit code of a local verb, or null when <paramref name="line"/> is for a node.</summary>
    public static int? Run(CommandLine line, TextWriter stdout, TextWriter stderr, Func<string, string?> environment) => line.Verb switch
    {
        "help" => HelpOn(line, stdout, stderr),
        "config" => ConfigVerbs.Run(line, stdout, stderr, environment),
        "completion" => CompletionScripts.Run(line, stdout, stderr),
        _ => null,
    };

    /// <summary><c>vmctl help [COMMAND [SUBCOMMAND]]</c>: the command's help on standard output.</summary>
    private static int HelpOn(CommandLine line, TextWriter stdout, TextWriter stderr)
    {
        if (line.UnknownOptions.Count > 0)
            return VmctlApp.UsageError(stderr, $"'help' does not take {line.UnknownOptions[0]}", "help");
        System.CommandLine.Command command = CommandTree.Root;
        foreach (var word in line.Positional)
        {
            var next = command.Subcommands.FirstOrDefault(c => !c.Hidden && (c.Name == word || c.Aliases.Contains(word)));
            if (next is null)
                return VmctlApp.UsageError(stderr, $"unknown command '{string.Join(' ', line.Positional)}'", "");
            command = next;
        }
        return HelpWriter.Write(line.Positional, stdout);
    }
}
