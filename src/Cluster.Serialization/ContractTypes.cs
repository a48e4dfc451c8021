using System.Reflection;
using Cluster.Contracts;
using MessagePack;

namespace Cluster.Serialization;

/// <summary>
/// The table of types the MessagePack serializer accepts: every concrete <see cref="IClusterMessage"/>
/// of the Contracts assembly that is a <see cref="MessagePackObjectAttribute"/> type or a field-less
/// singleton (a public static <c>Instance</c>). The manifest of a type is its full name; a manifest
/// outside this table is refused.
/// </summary>
public static class ContractTypes
{
    private static readonly Lazy<IReadOnlyDictionary<string, Type>> ByManifestLazy = new(Scan);
    private static readonly Lazy<IReadOnlyDictionary<Type, object>> SingletonsLazy = new(() =>
        ByManifestLazy.Value.Values
            .Select(t => (Type: t, Instance: FindSingleton(t)))
            .Where(p => p.Instance is not null)
            .ToDictionary(p => p.Type, p => p.Instance!));

    /// <summary>Manifest to type, for every accepted type.</summary>
    public static IReadOnlyDictionary<string, Type> ByManifest => ByManifestLazy.Value;

    /// <summary>The manifest written for <paramref name="type"/>.</summary>
    public static string ManifestOf(Type type) => type.FullName!;

    private static IReadOnlyDictionary<string, Type> Scan() =>
        typeof(IClusterMessage).Assembly.GetTypes()
            .Where(t => t is { IsAbstract: false, IsInterface: false }
                        && typeof(IClusterMessage).IsAssignableFrom(t)
                        && (t.GetCustomAttribute<MessagePackObjectAttribute>() is not null || FindSingleton(t) is not null))
            .ToDictionary(ManifestOf);

    /// <summary>The one instance of a field-less contract type, or null when the type is not a singleton.</summary>
    public static object? SingletonOf(Type type) => SingletonsLazy.Value.GetValueOrDefault(type);

    private static object? FindSingleton(Type type) =>
        type.GetProperty("Instance", BindingFlags.Public | BindingFlags.Static) is { } p && p.PropertyType == type
            ? p.GetValue(null)
            : null;
}
