using System.CommandLine;
using System.CommandLine.Parsing;
using Cluster.Vmctl.Cli.Commands;

namespace Cluster.Vmctl.Cli;

/// <summary>
/// A parsed command line as vmctl's verbs read it: the verb, the positional words after it (subcommand names first:
/// <c>token revoke ID</c> is verb <c>token</c> with <c>revoke ID</c>), and the options by their long name
/// (<c>--name value</c> or <c>--name=value</c>, repeatable; flags have the value "true"; <c>-i</c> is <c>--interactive</c>,
/// <c>-o</c> <c>--output</c>). System.CommandLine parses (<see cref="CommandTree"/>); options that the verb does not take are
/// kept in <see cref="UnknownOptions"/> for vmctl to refuse by name.
/// </summary>
public sealed class CommandLine
{
    private const string Terminator = "--";

    /// <summary>The error of a command line without a command (vmctl answers it with the whole help).</summary>
    public const string NoCommand = "no command given";

    private readonly Dictionary<string, List<string>> _options;

    private CommandLine(string verb, string path, IReadOnlyList<string> positional, Dictionary<string, List<string>> options, IReadOnlyList<string> unknown)
    {
        Verb = verb;
        Path = path;
        Positional = positional;
        _options = options;
        UnknownOptions = unknown;
    }

    /// <summary>The first word: the command.</summary>
    public string Verb { get; }

    /// <summary>The command with its subcommands, as messages name it ("token create").</summary>
    public string Path { get; }

    public IReadOnlyList<string> Positional { get; }

    public IEnumerable<string> OptionNames => _options.Keys;

    /// <summary>Words that look like options but that the command does not take.</summary>
    public IReadOnlyList<string> UnknownOptions { get; }

    /// <summary>Parses; null with <paramref name="error"/> set when an option lacks its value or no verb is given.</summary>
    public static CommandLine? Parse(IReadOnlyList<string> args, out string? error) => From(CommandTree.Root.Parse(args), args, out error);

    /// <summary>The command line of a finished parse; null with <paramref name="error"/> for a parse error, an unknown
    /// command or no command.</summary>
    public static CommandLine? From(ParseResult result, IReadOnlyList<string> args, out string? error)
    {
        error = null;
        if (result.Errors.Count > 0)
        {
            error = result.Errors[0].Message.TrimEnd('.');
            return null;
        }
        var terminator = IndexOf(args, Terminator);
        bool IsOption(string word) => word.Length > 1 && word[0] == '-' && (terminator < 0 || IndexOf(args, word) < terminator);
        var unmatched = result.UnmatchedTokens;
        var commands = new List<CommandResult>();
        for (var c = result.CommandResult; c is not null; c = c.Parent as CommandResult)
            commands.Insert(0, c);
        if (commands.Count == 1)
        {
            error = unmatched.FirstOrDefault(w => !IsOption(w)) is { } word ? $"unknown command '{word}'"
                : unmatched.Count > 0 ? $"unknown option {unmatched[0]}"
                : NoCommand;
            return null;
        }
        var options = new Dictionary<string, List<string>>();
        var positional = new List<string>();
        foreach (var command in commands.Skip(2))
            positional.Add(command.Command.Name);
        foreach (var command in commands)
        {
            foreach (var child in command.Children)
            {
                switch (child)
                {
                    case OptionResult { Implicit: false } option:
                        if (!options.TryGetValue(option.Option.Name, out var values))
                            options[option.Option.Name] = values = [];
                        if (option.Option.Arity.MaximumNumberOfValues == 0)
                            values.Add("true");
                        else
                            values.AddRange(option.Tokens.Select(t => t.Value));
                        break;
                    case ArgumentResult argument when command == commands[^1]:
                        positional.AddRange(argument.Tokens.Select(t => t.Value));
                        break;
                }
            }
        }
        positional.AddRange(unmatched.Where(w => !IsOption(w)));
        var path = string.Join(' ', commands.Skip(1).Select(c => c.Command.Name));
        return new CommandLine(commands[1].Command.Name, path, positional, options, [.. unmatched.Where(IsOption)]);
    }

    private static int IndexOf(IReadOnlyList<string> args, string word)
    {
        for (var i = 0; i < args.Count; i++)
            if (args[i] == word)
                return i;
        return -1;
    }

    public bool Has(string option) => _options.ContainsKey(option);

    public string? Get(string option) => _options.TryGetValue(option, out var v) && v.Count > 0 ? v[^1] : null;

    public IReadOnlyList<string> All(string option) => _options.TryGetValue(option, out var v) ? v : [];
}
