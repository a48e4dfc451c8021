using System.CommandLine;
using System.CommandLine.Parsing;

namespace Cluster.Node.Cli;

/// <summary>
/// What one parsed cluster-node command line gave its command: option values by long name (in the order given;
/// flags have the value "true") and the positional operands. The commands read their values from here and check
/// what System.CommandLine cannot (sizes, ports, combinations).
/// </summary>
public sealed class CliArgs
{
    private readonly Dictionary<string, List<string>> _options;

    private CliArgs(Dictionary<string, List<string>> options, IReadOnlyList<string> operands)
    {
        _options = options;
        Operands = operands;
    }

    /// <summary>The positional arguments, in order.</summary>
    public IReadOnlyList<string> Operands { get; }

    /// <summary>The last value of an option, or null when it was not given.</summary>
    public string? Get(string option) => _options.TryGetValue(option, out var v) && v.Count > 0 ? v[^1] : null;

    /// <summary>Every value of an option, in order.</summary>
    public IReadOnlyList<string> All(string option) => _options.TryGetValue(option, out var v) ? v : [];

    /// <summary>Whether an option or flag was given.</summary>
    public bool Has(string option) => _options.ContainsKey(option);

    /// <summary>The values of the command the parse ended on (options of the commands above it included).</summary>
    public static CliArgs From(ParseResult result)
    {
        var options = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var operands = new List<string>();
        for (SymbolResult? s = result.CommandResult; s is CommandResult command; s = command.Parent)
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
                    case ArgumentResult argument when command == result.CommandResult:
                        operands.AddRange(argument.Tokens.Select(t => t.Value));
                        break;
                }
            }
        }
        return new CliArgs(options, operands);
    }
}
