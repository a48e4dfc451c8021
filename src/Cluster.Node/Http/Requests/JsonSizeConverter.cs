using System.Text.Json;
using System.Text.Json.Serialization;
using Cluster.Contracts.Validation;

namespace Cluster.Node.Http.Requests;

/// <summary>
/// Reads a <see cref="JsonSize"/>: a non-negative integer, or a string the size parser accepts. Anything else is a
/// <see cref="JsonException"/>, which <see cref="RequestJson"/> turns into a message naming the field.
/// </summary>
public sealed class JsonSizeConverter : JsonConverter<JsonSize>
{
    /// <summary>What a size field must be, for error messages and the OpenAPI document.</summary>
    public const string Expected = "bytes: a number or a size like \"64M\"";

    public override JsonSize Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.Number when reader.TryGetUInt64(out var bytes) => new JsonSize(bytes),
        JsonTokenType.String when SizeText.TryParse(reader.GetString()!, out var bytes) => new JsonSize(bytes),
        _ => throw new JsonException($"not {Expected}"),
    };

    public override void Write(Utf8JsonWriter writer, JsonSize value, JsonSerializerOptions options) => writer.WriteNumberValue(value.Bytes);
}
