namespace Cluster.Node.DiskCommand;

/// <summary>
/// The arguments of one <c>disk</c> subcommand: options that take a value, flags, and positional
/// operands, checked against what the subcommand accepts.
/// </summary>
public sealed class DiskArguments
{
    private readonly Dictionary<string, string> _values = [];
    private readonly HashSet<string> _flags = [];

    private DiskArguments(IReadOnlyList<string> operands) => Operands = operands;

    /// <summary>The positional arguments, in order.</summary>
    public IReadOnlyList<string> Operands { get; }

    /// <summary>The value of an option, or null when it was not given.</summary>
    public string? Get(string option) => _values.GetValueOrDefault(option);

    /// <summary>Whether a flag was given.</summary>
    public bool Has(string flag) => _flags.Contains(flag);

    /// <summary>Parses <paramref name="args"/>; null with <paramref name="error"/> set on an unknown
    /// option, a missing value, or the wrong number of operands.</summary>
    public static DiskArguments? Parse(IReadOnlyList<string> args, IReadOnlyCollection<string> valued,
        IReadOnlyCollection<string> flags, int operands, out string? error)
    {
        var positional = new List<string>();
        var values = new Dictionary<string, string>();
        var given = new HashSet<string>();
        error = null;
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (valued.Contains(a))
            {
                if (i + 1 >= args.Count)
                {
                    error = $"{a} needs a value";
                    return null;
                }
                values[a] = args[++i];
            }
            else if (flags.Contains(a))
            {
                given.Add(a);
            }
            else if (a.StartsWith('-') && a.Length > 1)
            {
                error = $"unknown option '{a}'";
                return null;
            }
            else
            {
                positional.Add(a);
            }
        }
        if (positional.Count != operands)
        {
            error = positional.Count < operands ? "missing file name" : $"unexpected argument '{positional[operands]}'";
            return null;
        }
        var parsed = new DiskArguments(positional);
        foreach (var (k, v) in values)
            parsed._values[k] = v;
        parsed._flags.UnionWith(given);
        return parsed;
    }
}
