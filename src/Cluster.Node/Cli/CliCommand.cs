using System.CommandLine;

namespace Cluster.Node.Cli;

/// <summary>
/// A cluster-node command: a System.CommandLine <see cref="Command"/> with the examples and notes its <c>--help</c>
/// prints after the options (<see cref="CliHelp"/>). Parsing, help and the checks of each command read this one
/// definition, so the usage text cannot drift from what the parser accepts.
/// </summary>
public sealed class CliCommand : Command
{
    public CliCommand(string name, string description) : base(name, description)
    {
    }

    /// <summary>Command lines shown under "Examples:".</summary>
    public IList<string> Examples { get; } = [];

    /// <summary>Paragraphs shown last (value syntax, exit codes).</summary>
    public IList<string> Notes { get; } = [];

    /// <summary>What the command runs (null for a group of subcommands).</summary>
    public CliHandler? Handler { get; init; }

    /// <summary>The exit code for bad arguments of this command (and those below it, unless they set their own).</summary>
    public int? UsageExitCode { get; init; }

    public CliCommand With(params Option[] options)
    {
        foreach (var option in options)
            Options.Add(option);
        return this;
    }

    public CliCommand With(params Argument[] arguments)
    {
        foreach (var argument in arguments)
            Arguments.Add(argument);
        return this;
    }

    public CliCommand With(params Command[] subcommands)
    {
        foreach (var subcommand in subcommands)
            Subcommands.Add(subcommand);
        return this;
    }

    public CliCommand Example(params string[] examples)
    {
        foreach (var example in examples)
            Examples.Add(example);
        return this;
    }

    public CliCommand Note(string note)
    {
        Notes.Add(note);
        return this;
    }

    /// <summary>An option taking one value, shown as <paramref name="value"/> in the help. Given again, the last value wins
    /// (as before: a unit's options file and an override on its command line may both name it).</summary>
    public static Option<string[]> Value(string name, string value, string description) =>
        new(name) { Description = description, HelpName = value, AllowMultipleArgumentsPerToken = false, Arity = ArgumentArity.OneOrMore };

    /// <summary>An option that may be given several times, each with one value, kept in order.</summary>
    public static Option<string[]> Repeated(string name, string value, string description) =>
        new(name) { Description = description, HelpName = value, AllowMultipleArgumentsPerToken = false, Arity = ArgumentArity.OneOrMore };

    /// <summary>A flag (no value).</summary>
    public static Option<bool> Flag(string name, string description) => new(name) { Description = description, Arity = ArgumentArity.Zero };

    /// <summary>A positional argument taking exactly one word.</summary>
    public static Argument<string> Operand(string name, string description) => new(name) { Description = description };
}
