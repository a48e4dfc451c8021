using System.Globalization;
using System.Text;
using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Cluster.Contracts.Json;

namespace Cluster.Vmctl.Output;

/// <summary>Writes results as aligned text tables (<c>-o table</c>, <c>-o wide</c>, <c>--no-headers</c>) or as data
/// (<c>-o json</c> or <c>--json</c>, <c>-o yaml</c>).</summary>
public sealed class Printer(TextWriter output, OutputFormat format, bool noHeaders = false)
{
    /// <summary>A printer of tables, or of JSON when <paramref name="json"/> is set.</summary>
    public Printer(TextWriter output, bool json) : this(output, json ? OutputFormat.Json : OutputFormat.Table)
    {
    }

    /// <summary>camelCase, enums by name, indented; the metadata of <see cref="PrintJsonContext"/> and the contracts'
    /// (source-generated: no reflection, in the NativeAOT vmctl as in development).</summary>
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        TypeInfoResolver = JsonTypeInfoResolver.Combine(PrintJsonContext.Default, ContractJsonContext.Default),
    };

    /// <summary>Whether results are printed as data (JSON or YAML) rather than tables.</summary>
    public bool Structured => format is OutputFormat.Json or OutputFormat.Yaml;

    /// <summary>Whether tables get their extra columns (<c>-o wide</c>).</summary>
    public bool Wide => format == OutputFormat.Wide;

    /// <summary>Whether tables leave out their header line (<c>--no-headers</c>).</summary>
    public bool NoHeaders => noHeaders;

    public OutputFormat Format => format;

    /// <summary>The writer it prints to (live views draw frames on it).</summary>
    public TextWriter Output => output;

    /// <summary>Writes <paramref name="value"/> as JSON, or as YAML with <c>-o yaml</c> (in those modes only).</summary>
    /// <exception cref="NotSupportedException"><paramref name="value"/>'s type (or an element's) has no JSON metadata.</exception>
    public void WriteData(object value)
    {
        if (format == OutputFormat.Yaml)
            output.Write(YamlText.Write(ToNode(value)));
        else if (value is JsonNode or IEnumerable and not string)
            output.WriteLine(ToNode(value)?.ToJsonString(JsonOptions) ?? "null");
        else
            output.WriteLine(JsonSerializer.Serialize(value, JsonOptions.GetTypeInfo(value.GetType())));
    }

    /// <summary>A value as a JSON tree: a list element by element (each by its own type), anything else by its type's metadata.</summary>
    private static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        JsonNode node => node,
        string text => JsonValue.Create(text),
        IDictionary => JsonSerializer.SerializeToNode(value, JsonOptions.GetTypeInfo(value.GetType())),
        IEnumerable items => new JsonArray([.. items.Cast<object?>().Select(ToNode)]),
        _ => JsonSerializer.SerializeToNode(value, JsonOptions.GetTypeInfo(value.GetType())),
    };

    public void Line(string text) => output.WriteLine(text);

    public void Raw(string text)
    {
        output.Write(text);
        output.Flush();
    }

    /// <summary>Writes rows under headers (unless <see cref="NoHeaders"/>), each column as wide as its widest cell.</summary>
    public void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = noHeaders ? new List<IReadOnlyList<string>>() : [headers];
        all.AddRange(rows);
        Aligned(all);
    }

    /// <summary>Writes rows (all of the same length) without headers, each column as wide as its widest cell.</summary>
    public void Aligned(IReadOnlyList<IReadOnlyList<string>> all)
    {
        if (all.Count == 0)
            return;
        var widths = all[0].Select((_, c) => all.Max(r => r[c].Length)).ToArray();
        foreach (var row in all)
        {
            var line = new StringBuilder();
            for (var c = 0; c < row.Count; c++)
                line.Append(c == row.Count - 1 ? row[c] : row[c].PadRight(widths[c] + 2));
            output.WriteLine(line.ToString().TrimEnd());
        }
    }

    /// <summary>A byte count as a short human-readable size (64M, 1G, 4096).</summary>
    public static string Size(ulong bytes) => bytes switch
    {
        _ when bytes >= 1UL << 30 && bytes % (1UL << 30) == 0 => $"{bytes >> 30}G",
        _ when bytes >= 1UL << 20 && bytes % (1UL << 20) == 0 => $"{bytes >> 20}M",
        _ when bytes >= 1UL << 10 && bytes % (1UL << 10) == 0 => $"{bytes >> 10}K",
        _ => bytes.ToString(CultureInfo.InvariantCulture),
    };

    public static string Time(DateTime at) => at.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
