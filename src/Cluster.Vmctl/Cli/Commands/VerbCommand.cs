using System.CommandLine;

namespace Cluster.Vmctl.Cli.Commands;

/// <summary>
/// A vmctl command: a System.CommandLine <see cref="Command"/> with the examples and notes its <c>--help</c> prints
/// after the options. Every vmctl command is one, so that help, parsing and completion read the same definition.
/// </summary>
public sealed class VerbCommand : Command
{
    /// <summary>A command named <paramref name="name"/>, described in one line.</summary>
    public VerbCommand(string name, string description, params string[] aliases) : base(name, description)
    {
        foreach (var alias in aliases)
            Aliases.Add(alias);
    }

    /// <summary>Command lines shown under "Examples:", each with its explanation after a <c>#</c>.</summary>
    public IList<string> Examples { get; } = [];

    /// <summary>Paragraphs shown last (syntax of values, exit codes, environment).</summary>
    public IList<string> Notes { get; } = [];

    /// <summary>Adds an argument and returns this command (for building the tree in one expression).</summary>
    public VerbCommand With(Argument argument)
    {
        Arguments.Add(argument);
        return this;
    }

    /// <summary>Adds options and returns this command.</summary>
    public VerbCommand With(params Option[] options)
    {
        foreach (var option in options)
            Options.Add(option);
        return this;
    }

    /// <summary>Adds subcommands and returns this command.</summary>
    public VerbCommand With(params VerbCommand[] subcommands)
    {
        foreach (var subcommand in subcommands)
            Subcommands.Add(subcommand);
        return this;
    }

    /// <summary>Adds examples (<c>"vmctl ... # what it does"</c>) and returns this command.</summary>
    public VerbCommand Example(params string[] examples)
    {
        foreach (var example in examples)
            Examples.Add(example);
        return this;
    }

    /// <summary>Adds a note paragraph and returns this command.</summary>
    public VerbCommand Note(string note)
    {
        Notes.Add(note);
        return this;
    }
}
