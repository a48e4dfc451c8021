using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Text;

namespace Cluster.Vmctl.Cli.Commands;

/// <summary>
/// What <c>--help</c>, <c>-h</c> and <c>vmctl help</c> print, to standard output: System.CommandLine's usage, arguments,
/// options and subcommands, then the command's examples and notes (<see cref="VerbCommand"/>). The section on
/// "additional arguments" is left out: vmctl reports stray words itself.
/// </summary>
public sealed class HelpWriter : SynchronousCommandLineAction
{
    private const int Width = 120;
    private const string AdditionalSection = "Additional Arguments:";
    private const string AdditionalUsage = " [[--] <additional arguments>...]]";

    private readonly HelpAction _standard = new() { MaxWidth = Width };

    /// <summary>Writes the help of the command the parse ended on.</summary>
    public override int Invoke(ParseResult parseResult)
    {
        var configuration = parseResult.InvocationConfiguration;
        var output = configuration.Output;
        var standard = new StringWriter();
        configuration.Output = standard;
        try
        {
            _standard.Invoke(parseResult);
        }
        finally
        {
            configuration.Output = output;
        }
        output.Write(Trimmed(standard.ToString()));
        Extras(parseResult.CommandResult.Command, output);
        return ExitCodes.Ok;
    }

    /// <summary>The help of the command that <paramref name="path"/> (words such as "token", "create") names, written to <paramref name="output"/>.</summary>
    public static int Write(IReadOnlyList<string> path, TextWriter output) =>
        CommandTree.Root.Parse([.. path, "--help"]).Invoke(new InvocationConfiguration { Output = output, Error = output });

    /// <summary>System.CommandLine's text without the section on additional arguments.</summary>
    private static string Trimmed(string text)
    {
        text = text.ReplaceLineEndings("\n").Replace(AdditionalUsage, "", StringComparison.Ordinal);
        var at = text.IndexOf(AdditionalSection, StringComparison.Ordinal);
        if (at < 0)
            return text;
        var end = text.IndexOf("\n\n", at, StringComparison.Ordinal);
        return text[..at] + (end < 0 ? "" : text[(end + 2)..]);
    }

    private static void Extras(Command command, TextWriter output)
    {
        if (command is VerbCommand { Examples.Count: > 0 } verb)
        {
            output.WriteLine("Examples:");
            foreach (var example in verb.Examples)
                output.WriteLine($"  {example}");
            output.WriteLine();
        }
        IEnumerable<string> notes = command is VerbCommand v ? v.Notes : command is RootCommand ? CommandTree.RootNotes : [];
        foreach (var note in notes)
        {
            output.Write(Wrap(note.ReplaceLineEndings(" ")));
            output.WriteLine();
        }
    }

    private static string Wrap(string text)
    {
        var lines = new List<string>();
        var line = new StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length + word.Length + 1 > Width && line.Length > 0)
            {
                lines.Add(line.ToString());
                line.Clear();
            }
            line.Append(line.Length == 0 ? word : $" {word}");
        }
        lines.Add(line.ToString());
        return string.Join('\n', lines) + "\n";
    }
}
