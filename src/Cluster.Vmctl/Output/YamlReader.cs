using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Cluster.Vmctl.Output;

/// <summary>
/// Reads one YAML document (or JSON, which is YAML) into a JSON tree, so that YAML and JSON files go through the same
/// typed reader. Plain scalars that look like numbers, true/false and null/~ become those; quoted scalars stay strings.
/// </summary>
public static partial class YamlReader
{
    /// <summary>The document's tree (null for an empty document); <see cref="FormatException"/> with the line and column
    /// of a syntax error.</summary>
    public static JsonNode? Read(string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new FormatException($"line {e.Start.Line}, column {e.Start.Column}: {e.InnerException?.Message ?? e.Message}", e);
        }
        return stream.Documents.Count switch
        {
            0 => null,
            1 => Node(stream.Documents[0].RootNode),
            _ => throw new FormatException("more than one document (---): give one"),
        };
    }

    private static JsonNode? Node(YamlNode node) => node switch
    {
        YamlMappingNode m => Mapping(m),
        YamlSequenceNode s => new JsonArray([.. s.Children.Select(Node)]),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new FormatException($"line {node.Start.Line}: aliases are not supported"),
    };

    private static JsonObject Mapping(YamlMappingNode m)
    {
        var o = new JsonObject();
        foreach (var (key, value) in m.Children)
        {
            if (key is not YamlScalarNode { Value: { } name })
                throw new FormatException($"line {key.Start.Line}: a key must be a plain string");
            if (o.ContainsKey(name))
                throw new FormatException($"line {key.Start.Line}: '{name}' given twice");
            o[name] = Node(value);
        }
        return o;
    }

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain)
            return JsonValue.Create(value);
        return value switch
        {
            "" or "~" or "null" or "Null" or "NULL" => null,
            "true" or "True" or "TRUE" => JsonValue.Create(true),
            "false" or "False" or "FALSE" => JsonValue.Create(false),
            _ when Integer().IsMatch(value) && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => JsonValue.Create(l),
            _ when Integer().IsMatch(value) && ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var u) => JsonValue.Create(u),
            _ when Number().IsMatch(value) => JsonValue.Create(double.Parse(value, CultureInfo.InvariantCulture)),
            _ => JsonValue.Create(value),
        };
    }

    [GeneratedRegex(@"^-?[0-9]+$")]
    private static partial Regex Integer();

    [GeneratedRegex(@"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$")]
    private static partial Regex Number();
}
