using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Cluster.Vmctl.Output;

/// <summary>
/// Writes a JSON tree as block-style YAML (<c>-o yaml</c>): mappings and sequences indented by two spaces, strings
/// plain where YAML reads them back as the same string, else double-quoted with JSON's escapes (a subset of YAML's).
/// What it writes, <see cref="YamlReader"/> reads back to the same tree.
/// </summary>
public static partial class YamlText
{
    /// <summary>The YAML document of <paramref name="node"/>, ending with a line break.</summary>
    public static string Write(JsonNode? node)
    {
        var text = new StringBuilder();
        switch (node)
        {
            case JsonObject o when o.Count > 0:
                Mapping(text, o, 0);
                break;
            case JsonArray a when a.Count > 0:
                Sequence(text, a, 0);
                break;
            default:
                text.Append(Scalar(node)).Append('\n');
                break;
        }
        return text.ToString();
    }

    private static void Mapping(StringBuilder text, JsonObject o, int indent)
    {
        foreach (var (key, value) in o)
        {
            text.Append(' ', indent).Append(Quoted(key)).Append(':');
            Value(text, value, indent);
        }
    }

    private static void Sequence(StringBuilder text, JsonArray a, int indent)
    {
        foreach (var item in a)
        {
            text.Append(' ', indent).Append('-');
            switch (item)
            {
                case JsonObject o when o.Count > 0:
                    var first = true;
                    foreach (var (key, value) in o)
                    {
                        text.Append(first ? " " : new string(' ', indent + 2)).Append(Quoted(key)).Append(':');
                        Value(text, value, indent + 2);
                        first = false;
                    }
                    break;
                default:
                    Value(text, item, indent);
                    break;
            }
        }
    }

    private static void Value(StringBuilder text, JsonNode? value, int indent)
    {
        switch (value)
        {
            case JsonObject o when o.Count > 0:
                text.Append('\n');
                Mapping(text, o, indent + 2);
                break;
            case JsonArray a when a.Count > 0:
                text.Append('\n');
                Sequence(text, a, indent + 2);
                break;
            default:
                text.Append(' ').Append(Scalar(value)).Append('\n');
                break;
        }
    }

    private static string Scalar(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "{}",
        JsonArray => "[]",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => Quoted(v.GetValue<string>()),
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>() ? "true" : "false",
        _ => node.ToJsonString(),
    };

    /// <summary>A string as it must be written to be read back as that string.</summary>
    public static string Quoted(string s) =>
        (Plain().IsMatch(s) || (UrlLike().IsMatch(s) && !s.EndsWith(':'))) && !Reserved.Contains(s.ToLowerInvariant())
        && !double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            ? s
            : JsonQuoted(s);

    private static readonly JsonWriterOptions Escapes = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A JSON string literal (which YAML reads as a double-quoted scalar), escaping only what JSON must.</summary>
    private static string JsonQuoted(string s)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Escapes))
            writer.WriteStringValue(s);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static readonly HashSet<string> Reserved = ["null", "true", "false", "yes", "no", "on", "off", "y", "n", "~", ".inf", ".nan"];

    [GeneratedRegex(@"^[A-Za-z0-9_./][A-Za-z0-9_./@=+-]*$")]
    private static partial Regex Plain();

    /// <summary>Starting with a letter, colons are safe (https://h:1): no YAML 1.1 reader takes it for a base-60 number.</summary>
    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_./@=+:-]*$")]
    private static partial Regex UrlLike();
}
