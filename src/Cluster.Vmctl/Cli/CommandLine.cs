namespace Cluster.Vmctl.Cli;

/// <summary>
/// A parsed command line: the verb, positional arguments and options (<c>--name value</c>, repeatable;
/// flags without a value are listed in <see cref="Flags"/>). Unknown options are refused by the caller.
/// </summary>
public sealed class CommandLine
{
    /// <summary>Options that take no value.</summary>
    public static readonly IReadOnlySet<string> Flags = new HashSet<string> { "--json", "--force", "--follow", "--start", "--help", "--wait", "--watch", "--cancel", "--once" };

    private readonly Dictionary<string, List<string>> _options = [];

    private CommandLine(string verb, IReadOnlyList<string> positional)
    {
        Verb = verb;
        Positional = positional;
    }

    public string Verb { get; }

    public IReadOnlyList<string> Positional { get; }

    public IEnumerable<string> OptionNames => _options.Keys;

    /// <summary>Parses; null with <paramref name="error"/> set when an option lacks its value or no verb is given.</summary>
    public static CommandLine? Parse(IReadOnlyList<string> args, out string? error)
    {
        error = null;
        var positional = new List<string>();
        var options = new Dictionary<string, List<string>>();
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal))
            {
                positional.Add(a);
                continue;
            }
            string value;
            if (Flags.Contains(a))
                value = "true";
            else if (i + 1 < args.Count)
                value = args[++i];
            else
            {
                error = $"{a} needs a value";
                return null;
            }
            if (!options.TryGetValue(a, out var list))
                options[a] = list = [];
            list.Add(value);
        }
        if (positional.Count == 0)
        {
            error = options.ContainsKey("--help") ? null : "no command given";
            return options.ContainsKey("--help") ? new CommandLine("help", []) : null;
        }
        var line = new CommandLine(positional[0], positional.Skip(1).ToList());
        foreach (var (k, v) in options)
            line._options[k] = v;
        return line;
    }

    public bool Has(string option) => _options.ContainsKey(option);

    public string? Get(string option) => _options.TryGetValue(option, out var v) ? v[^1] : null;

    public IReadOnlyList<string> All(string option) => _options.TryGetValue(option, out var v) ? v : [];
}
