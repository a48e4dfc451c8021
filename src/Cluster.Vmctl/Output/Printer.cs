using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cluster.Vmctl.Output;

/// <summary>Writes results as aligned text tables or, with --json, as JSON.</summary>
public sealed class Printer(TextWriter output, bool json)
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public bool Json => json;

    /// <summary>The writer it prints to (live views draw frames on it).</summary>
    public TextWriter Output => output;

    /// <summary>Writes <paramref name="value"/> as JSON (in --json mode only).</summary>
    public void WriteJson(object value) => output.WriteLine(JsonSerializer.Serialize(value, value.GetType(), JsonOptions));

    public void Line(string text) => output.WriteLine(text);

    public void Raw(string text)
    {
        output.Write(text);
        output.Flush();
    }

    /// <summary>Writes rows under headers, each column as wide as its widest cell.</summary>
    public void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = new List<IReadOnlyList<string>> { headers };
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
