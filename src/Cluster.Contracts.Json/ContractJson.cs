using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Cluster.Contracts.Json;

/// <summary>
/// A contract as JSON, named by its manifest (its type's full name, as on the MessagePack wire): what
/// <c>POST /api/v1/command</c> carries with <c>Content-Type: application/json</c>. Reflection-free at run time apart from
/// reading the contracts' MessagePack <c>Union</c> attributes (kept by the AOT compiler with the types), so it runs in
/// the NativeAOT vmctl. A MessagePack union's members carry their type name in <c>"$type"</c>; the field-less singleton
/// commands are <c>{}</c>.
/// </summary>
public static class ContractJson
{
    /// <summary>The content type of JSON bodies.</summary>
    public const string ContentType = "application/json";

    /// <summary>The options: <see cref="ContractJsonContext"/>, with the unions made polymorphic.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    /// <summary>Manifest to type, for every contract of <see cref="ContractJsonContext"/>.</summary>
    public static IReadOnlyDictionary<string, Type> ByManifest { get; } = Scan();

    /// <summary>The manifest of <paramref name="type"/> (its full name).</summary>
    public static string ManifestOf(Type type) => type.FullName!;

    /// <summary>A contract as its manifest and its JSON bytes.</summary>
    /// <exception cref="ArgumentException"><paramref name="contract"/> is no contract of <see cref="ContractJsonContext"/>.</exception>
    public static (string Manifest, byte[] Payload) Encode(object contract)
    {
        ArgumentNullException.ThrowIfNull(contract);
        var manifest = ManifestOf(contract.GetType());
        if (!ByManifest.ContainsKey(manifest))
            throw new ArgumentException($"{contract.GetType()} is not a contract with a JSON form", nameof(contract));
        if (ContractSingletons.Of(contract.GetType()) is not null)
            return (manifest, "{}"u8.ToArray());
        return (manifest, JsonSerializer.SerializeToUtf8Bytes(contract, Options.GetTypeInfo(contract.GetType())));
    }

    /// <summary>The contract of <paramref name="manifest"/> read from <paramref name="payload"/>, or null with
    /// <paramref name="error"/> when the manifest names no contract or the bytes are no such value.</summary>
    public static object? Decode(string? manifest, ReadOnlySpan<byte> payload, out string? error)
    {
        error = null;
        if (manifest is null || !ByManifest.TryGetValue(manifest, out var type))
        {
            error = $"unknown command type '{manifest}'";
            return null;
        }
        try
        {
            if (ContractSingletons.Of(type) is { } singleton)
            {
                // The body must still be a JSON object ({} as written; fields are ignored, as the type has none).
                using var document = JsonDocument.Parse(payload.ToArray());
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                    error = $"{type.Name} is malformed: not a JSON object";
                return error is null ? singleton : null;
            }
            var value = JsonSerializer.Deserialize(payload, Options.GetTypeInfo(type));
            if (value is null)
                error = $"{type.Name} is malformed: null";
            return value;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            error = $"{type.Name} is malformed: {e.Message}";
            return null;
        }
    }

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(ContractJsonContext.Default.Options)
        {
            TypeInfoResolver = ContractJsonContext.Default.WithAddedModifier(ContractUnions.MakePolymorphic),
        };
        options.MakeReadOnly();
        return options;
    }

    /// <summary>The contract types of the context: the type arguments of its generated <c>JsonTypeInfo&lt;T&gt;</c>
    /// properties that are concrete <see cref="IClusterMessage"/>s (a single list to keep: the context's attributes).</summary>
    private static Dictionary<string, Type> Scan() =>
        typeof(ContractJsonContext).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => p.PropertyType)
            .Where(t => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(JsonTypeInfo<>))
            .Select(t => t.GetGenericArguments()[0])
            .Where(t => t is { IsAbstract: false, IsInterface: false } && typeof(IClusterMessage).IsAssignableFrom(t))
            .Distinct()
            .ToDictionary(ManifestOf);
}
