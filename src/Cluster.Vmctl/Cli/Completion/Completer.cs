using System.CommandLine;
using Cluster.Vmctl.Cli.Commands;

namespace Cluster.Vmctl.Cli.Completion;

/// <summary>
/// <c>vmctl __complete -- WORD...</c>, what the completion scripts call: the words typed after <c>vmctl</c> up to the one
/// under the cursor (empty when the cursor follows a space); prints the candidates for that last word, one a line, from
/// System.CommandLine's completions over <see cref="CommandTree"/>: subcommands, options, and option values that have a
/// fixed set (<c>-o table|wide|json|yaml</c>, <c>--role</c>, <c>--mode</c>, ...).
/// </summary>
public static class Completer
{
    /// <summary>Prints the candidates; always exit code 0 (a completion never fails loudly).</summary>
    public static int Run(IReadOnlyList<string> words, TextWriter stdout)
    {
        IReadOnlyList<string> typed = words.Count > 0 && words[0] == "--" ? words.Skip(1).ToList() : words;
        if (typed.Count == 0)
            typed = [""];
        foreach (var candidate in Candidates(typed))
            stdout.WriteLine(candidate);
        return ExitCodes.Ok;
    }

    /// <summary>The candidates for the last of <paramref name="typed"/>, in System.CommandLine's order.</summary>
    public static IEnumerable<string> Candidates(IReadOnlyList<string> typed)
    {
        var line = string.Join(' ', typed.Select((w, i) => i == typed.Count - 1 && w.Length == 0 ? "" : Quoted(w)));
        IEnumerable<System.CommandLine.Completions.CompletionItem> items;
        try
        {
            items = CommandTree.Root.Parse(line).GetCompletions(line.Length);
        }
        catch (InvalidOperationException)
        {
            return [];
        }
        return items
            .Select(c => c.Label)
            .Where(label => !label.StartsWith('/') && label != "-?" && label != ClientVerbs.CompleteCommand)
            .Distinct();
    }

    private static string Quoted(string word) =>
        word.Length > 0 && !word.Any(c => char.IsWhiteSpace(c) || c == '"') ? word : $"\"{word.Replace("\"", "\\\"", StringComparison.Ordinal)}\"";
}
