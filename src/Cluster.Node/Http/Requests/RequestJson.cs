using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Cluster.Node.Http.Requests;

/// <summary>
/// Reads a typed request body with its generated metadata (<see cref="ApiJsonContext"/>) and, when the serializer refuses
/// it, says why in the API's words, naming the field by its JSON path: <c>unknown field 'disks[0].bus' (known: ...)</c>,
/// <c>'vcpus' must be an integer</c>, <c>'id' is required</c>, <c>the body must be a JSON object</c>. The serializer's
/// exception gives only the path; the field's expected type comes from the same metadata, walked along that path.
/// </summary>
public static class RequestJson
{
    /// <summary>The request in <paramref name="json"/>; null with <paramref name="error"/> set when it is not one.</summary>
    public static T? Read<T>(JsonElement json, JsonTypeInfo<T> info, out string? error) where T : class
    {
        error = null;
        try
        {
            return json.Deserialize(info) ?? throw new JsonException("the body is null");
        }
        catch (JsonException e)
        {
            error = Explain(json, info, e.Path ?? "$");
            return null;
        }
    }

    /// <summary>Why the value at <paramref name="path"/> (a serializer path: <c>$.disks[0].bus</c>) does not fit <paramref name="info"/>.</summary>
    internal static string Explain(JsonElement root, JsonTypeInfo info, string path)
    {
        var element = root;
        var shown = "";
        foreach (var segment in Segments(path))
        {
            if (!Fits(element, info))
                return MustBe(shown, info);
            var here = shown.Length == 0 ? segment : segment.StartsWith('[') ? shown + segment : $"{shown}.{segment}";
            switch (info.Kind)
            {
                case JsonTypeInfoKind.Object:
                    var property = info.Properties.FirstOrDefault(p => p.Name == segment);
                    if (property is null)
                        return $"unknown field '{here}' (known: {string.Join(", ", info.Properties.Select(p => p.Name))})";
                    if (!element.TryGetProperty(segment, out element))
                        return $"'{here}' is required";
                    info = info.Options.GetTypeInfo(property.PropertyType);
                    break;
                case JsonTypeInfoKind.Enumerable when int.TryParse(segment.Trim('[', ']'), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                                                      && index < element.GetArrayLength():
                    element = element[index];
                    info = info.Options.GetTypeInfo(info.ElementType!);
                    break;
                case JsonTypeInfoKind.Dictionary when element.TryGetProperty(segment, out element):
                    info = info.Options.GetTypeInfo(info.ElementType!);
                    break;
                default:
                    return MustBe(shown, info);
            }
            shown = here;
        }
        if (Fits(element, info) && info.Kind == JsonTypeInfoKind.Object
            && info.Properties.FirstOrDefault(p => p.IsRequired && !element.TryGetProperty(p.Name, out _)) is { } missing)
            return $"'{(shown.Length == 0 ? missing.Name : $"{shown}.{missing.Name}")}' is required";
        return MustBe(shown, info);
    }

    /// <summary>The path's segments: property names (from <c>.name</c> or <c>['name']</c>) and indices (<c>[0]</c>, kept in brackets).</summary>
    private static IEnumerable<string> Segments(string path)
    {
        var i = path.StartsWith('$') ? 1 : 0;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = path.IndexOfAny(['.', '['], i + 1);
                end = end < 0 ? path.Length : end;
                yield return path[(i + 1)..end];
                i = end;
            }
            else if (path.AsSpan(i).StartsWith("['"))
            {
                var end = path.IndexOf("']", i, StringComparison.Ordinal);
                end = end < 0 ? path.Length : end;
                yield return path[(i + 2)..end];
                i = end + 2;
            }
            else
            {
                var end = path.IndexOf(']', i);
                end = end < 0 ? path.Length - 1 : end;
                yield return path[i..(end + 1)];
                i = end + 1;
            }
        }
    }

    /// <summary>Whether <paramref name="element"/> has the JSON shape <paramref name="info"/> reads (containers only: a value's own check is its converter's).</summary>
    private static bool Fits(JsonElement element, JsonTypeInfo info) => info.Kind switch
    {
        JsonTypeInfoKind.Object or JsonTypeInfoKind.Dictionary => element.ValueKind == JsonValueKind.Object,
        JsonTypeInfoKind.Enumerable => element.ValueKind == JsonValueKind.Array,
        _ => true,
    };

    private static string MustBe(string field, JsonTypeInfo info) =>
        field.Length == 0 ? $"the body must be {Expected(info)}" : $"'{field}' must be {Expected(info)}";

    /// <summary>What a value <paramref name="info"/> reads looks like in JSON, in words.</summary>
    private static string Expected(JsonTypeInfo info)
    {
        var type = Nullable.GetUnderlyingType(info.Type) ?? info.Type;
        return info.Kind switch
        {
            JsonTypeInfoKind.Enumerable => "an array",
            JsonTypeInfoKind.Object or JsonTypeInfoKind.Dictionary => "a JSON object",
            _ when type == typeof(string) => "a string",
            _ when type == typeof(int) || type == typeof(long) || type == typeof(ulong) => "an integer",
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(JsonSize) => JsonSizeConverter.Expected,
            _ => $"a {type.Name}",
        };
    }
}
