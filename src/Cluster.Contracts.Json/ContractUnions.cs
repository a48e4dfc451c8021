using System.Reflection;
using System.Text.Json.Serialization.Metadata;
using MessagePack;

namespace Cluster.Contracts.Json;

/// <summary>
/// Makes each MessagePack union of the contracts (an abstract record with <see cref="UnionAttribute"/>s: VmEvent,
/// GuestImageSpec, RegistryEvent, ...) polymorphic in JSON, from the same attributes, so a member added to a union is
/// a member in JSON too: <c>"$type"</c> holds the member's type name.
/// </summary>
internal static class ContractUnions
{
    /// <summary>The discriminator's property name.</summary>
    public const string Discriminator = "$type";

    /// <summary>A type-info modifier: sets the polymorphism of a union's base type.</summary>
    public static void MakePolymorphic(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object || !info.Type.IsAbstract)
            return;
        var members = info.Type.GetCustomAttributes<UnionAttribute>(inherit: false).ToList();
        if (members.Count == 0)
            return;
        var polymorphism = new JsonPolymorphismOptions { TypeDiscriminatorPropertyName = Discriminator };
        foreach (var member in members)
            polymorphism.DerivedTypes.Add(new JsonDerivedType(member.SubType, member.SubType.Name));
        info.PolymorphismOptions = polymorphism;
    }
}
