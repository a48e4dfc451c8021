namespace Cluster.Node.Tests.TestUtils;

/// <summary>Just enough of systemd's unit and environment file syntax to run a unit's ExecStart by hand.</summary>
public static class UnitFile
{
    /// <summary>Section -> key -> value (the last one of a key wins; no line continuations).</summary>
    public static Dictionary<string, Dictionary<string, string>> Parse(string text)
    {
        var sections = new Dictionary<string, Dictionary<string, string>>();
        Dictionary<string, string>? current = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
                continue;
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                current = new Dictionary<string, string>();
                sections[line[1..^1]] = current;
                continue;
            }
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (current is null || eq <= 0)
                throw new FormatException($"not a unit file line: '{line}'");
            current[line[..eq].Trim()] = line[(eq + 1)..].Trim();
        }
        return sections;
    }

    /// <summary>An EnvironmentFile: KEY=VALUE lines, the value optionally in double quotes; # comments.</summary>
    public static Dictionary<string, string> ParseEnvironment(string text)
    {
        var variables = new Dictionary<string, string>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
                continue;
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
                throw new FormatException($"not an environment file line: '{line}'");
            var value = line[(eq + 1)..].Trim();
            if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
                value = value[1..^1];
            variables[line[..eq].Trim()] = value;
        }
        return variables;
    }

    /// <summary>
    /// An Exec line's words, as systemd makes them for a command without quotes: split at spaces, a word <c>$NAME</c>
    /// replaced by the variable's value split at spaces (nothing when unset), <c>${NAME}</c> by its value as one word.
    /// </summary>
    public static List<string> Expand(string exec, IReadOnlyDictionary<string, string> environment)
    {
        if (exec.Contains('"', StringComparison.Ordinal) || exec.Contains('\'', StringComparison.Ordinal))
            throw new FormatException($"quotes in '{exec}' are not handled here");
        var words = new List<string>();
        foreach (var word in exec.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (word.StartsWith("${", StringComparison.Ordinal) && word.EndsWith('}'))
                words.Add(environment.GetValueOrDefault(word[2..^1], ""));
            else if (word.StartsWith('$'))
                words.AddRange(environment.GetValueOrDefault(word[1..], "").Split(' ', StringSplitOptions.RemoveEmptyEntries));
            else
                words.Add(word);
        }
        return words;
    }
}
