using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Text;

namespace Cluster.Node.Cli;

/// <summary>
/// What <c>--help</c> and <c>-h</c> print: System.CommandLine's usage, arguments, options and subcommands, then the
/// command's examples and notes (<see cref="CliCommand"/>). Asked for, it goes to standard output; after a usage error
/// <see cref="NodeCli"/> writes the same text to standard error.
/// </summary>
public sealed class CliHelp : SynchronousCommandLineAction
{
    private const int Width = 120;

    public override int Invoke(ParseResult parseResult)
    {
        Write(parseResult, parseResult.InvocationConfiguration.Output);
        return 0;
    }

    /// <summary>Writes the help of the command <paramref name="parseResult"/> ended on to <paramref name="output"/>.</summary>
    public static void Write(ParseResult parseResult, TextWriter output)
    {
        var standard = new StringWriter();
        var configuration = parseResult.InvocationConfiguration;
        var previous = configuration.Output;
        configuration.Output = standard;
        try
        {
            new HelpAction { MaxWidth = Width }.Invoke(parseResult);
        }
        finally
        {
            configuration.Output = previous;
        }
        output.Write(standard.ToString().ReplaceLineEndings("\n"));
        if (parseResult.CommandResult.Command is not CliCommand command)
            return;
        if (command.Examples.Count > 0)
        {
            output.WriteLine("Examples:");
            foreach (var example in command.Examples)
                output.WriteLine($"  {example}");
            output.WriteLine();
        }
        foreach (var note in command.Notes)
            output.Write(Wrap(note));
    }

    /// <summary>A note wrapped at the help's width as one paragraph; lines that start indented are kept as they are.</summary>
    private static string Wrap(string note)
    {
        var text = new StringBuilder();
        var line = new StringBuilder();
        void Flush()
        {
            if (line.Length > 0)
                text.Append(line).Append('\n');
            line.Clear();
        }
        foreach (var noteLine in note.ReplaceLineEndings("\n").Split('\n'))
        {
            if (noteLine.StartsWith(' '))
            {
                Flush();
                text.Append(noteLine).Append('\n');
                continue;
            }
            foreach (var word in noteLine.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (line.Length + word.Length + 1 > Width && line.Length > 0)
                    Flush();
                line.Append(line.Length == 0 ? word : $" {word}");
            }
        }
        Flush();
        return text.Append('\n').ToString();
    }
}
