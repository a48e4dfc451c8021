using System.Reflection;
using MessagePack;

namespace Cluster.Contracts.Tests.Json;

/// <summary>
/// The contract types found in the contract assembly (as the MessagePack serializer's table finds them: every concrete
/// <see cref="IClusterMessage"/> that is a MessagePackObject or a singleton with a static Instance), and a populated
/// instance of any of them built by reflection, so a new contract or field is covered without a line here.
/// </summary>
internal static class ContractSamples
{
    /// <summary>Every contract type of the assembly.</summary>
    public static IReadOnlyList<Type> ContractTypes { get; } =
        [.. typeof(IClusterMessage).Assembly.GetTypes()
            .Where(t => t is { IsAbstract: false, IsInterface: false } && typeof(IClusterMessage).IsAssignableFrom(t)
                        && (t.GetCustomAttribute<MessagePackObjectAttribute>() is not null || SingletonOf(t) is not null))
            .OrderBy(t => t.FullName, StringComparer.Ordinal)];

    /// <summary>Every union base type (abstract, with MessagePack Union attributes) with its members.</summary>
    public static IReadOnlyList<(Type Base, Type Member)> UnionMembers { get; } =
        [.. typeof(IClusterMessage).Assembly.GetTypes()
            .Where(t => t.IsAbstract)
            .SelectMany(t => t.GetCustomAttributes<UnionAttribute>(inherit: false).Select(u => (t, u.SubType)))];

    /// <summary>The one instance of a field-less contract, or null.</summary>
    public static object? SingletonOf(Type type) =>
        type.GetProperty("Instance", BindingFlags.Public | BindingFlags.Static) is { } p && p.PropertyType == type ? p.GetValue(null) : null;

    /// <summary>A populated value of <paramref name="type"/>: no defaults where a value can be told from one.</summary>
    public static object Of(Type type)
    {
        if (type == typeof(string)) return "sample \"text\" ü";
        if (type == typeof(int)) return 7;
        if (type == typeof(uint)) return 7u;
        if (type == typeof(long)) return -7L;
        if (type == typeof(ulong)) return ulong.MaxValue - 1;
        if (type == typeof(ushort)) return (ushort)7;
        if (type == typeof(byte)) return (byte)7;
        if (type == typeof(bool)) return true;
        if (type == typeof(double)) return 1.5;
        if (type == typeof(Guid)) return new Guid("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9");
        if (type == typeof(DateTime)) return new DateTime(2026, 11, 29, 17, 0, 0, 123, DateTimeKind.Utc);
        if (type == typeof(TimeSpan)) return TimeSpan.FromMilliseconds(1234);
        if (type == typeof(byte[])) return new byte[] { 1, 2, 3, 0, 255 };
        if (type.IsEnum) return Enum.GetValues(type).Cast<object>().Last();
        if (Nullable.GetUnderlyingType(type) is { } inner) return Of(inner);
        if (type.IsAbstract && type.GetCustomAttributes<UnionAttribute>(inherit: false).LastOrDefault() is { } union)
            return Of(union.SubType);
        if (type.IsGenericType && type.GetGenericTypeDefinition() is var g
            && (g == typeof(IReadOnlyList<>) || g == typeof(IList<>) || g == typeof(List<>) || g == typeof(IEnumerable<>) || g == typeof(IReadOnlyCollection<>)))
        {
            var element = type.GetGenericArguments()[0];
            var list = (System.Collections.IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(element))!;
            list.Add(Of(element));
            list.Add(Of(element));
            return list;
        }
        if (type.IsArray)
        {
            var element = type.GetElementType()!;
            var array = Array.CreateInstance(element, 2);
            array.SetValue(Of(element), 0);
            array.SetValue(Of(element), 1);
            return array;
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() is var d && (d == typeof(IReadOnlyDictionary<,>) || d == typeof(IDictionary<,>) || d == typeof(Dictionary<,>)))
        {
            var (key, value) = (type.GetGenericArguments()[0], type.GetGenericArguments()[1]);
            Assert.Equal(typeof(string), key);
            var map = (System.Collections.IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(key, value))!;
            map["zone"] = Of(value);
            map["tier"] = Of(value);
            return map;
        }
        if (SingletonOf(type) is { } singleton)
            return singleton;
        var ctor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault()
                   ?? throw new InvalidOperationException($"no public constructor for {type}");
        var value0 = ctor.Invoke([.. ctor.GetParameters().Select(p => Of(p.ParameterType))]);
        // init-only and settable properties outside the constructor (fields added later with a default) get a value too.
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.SetMethod is { IsPublic: true } && property.GetCustomAttribute<IgnoreMemberAttribute>() is null
                && ctor.GetParameters().All(p => !string.Equals(p.Name, property.Name, StringComparison.OrdinalIgnoreCase)))
                property.SetValue(value0, Of(property.PropertyType));
        }
        return value0;
    }
}
