using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;

namespace Cluster.Serialization;

/// <summary>
/// Stands in (hocon/base.conf) for Akka's serializers that create objects of types named by the sender: Newtonsoft JSON
/// with type names (the System.Object fallback, id 1), Protobuf by type name (id 2) and remote deployment's
/// DaemonMsgCreate (id 3, which instantiates any actor type). With them replaced no serializer under those ids exists,
/// so a frame that names one is dropped by Akka.Remote ("cannot find serializer"); and a local message of a type bound
/// to nothing fails loudly here instead of going out as JSON.
/// </summary>
public sealed class RefusingSerializer : Serializer
{
    /// <summary>Created by Akka where no settings section exists.</summary>
    public RefusingSerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    /// <summary>Created by Akka with the replaced serializer's settings section (JSON has one), which it ignores.</summary>
    public RefusingSerializer(ExtendedActorSystem system, Config settings)
        : base(system)
    {
        _ = settings;
    }

    /// <summary>Its own id, so that ids 1 to 3 stay unregistered.</summary>
    public const int Id = 7302;

    /// <inheritdoc />
    public override int Identifier => Id;

    /// <inheritdoc />
    public override bool IncludeManifest => false;

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) =>
        throw new SerializationException(
            $"{obj.GetType().FullName} has no serializer: only the contracts (IClusterMessage) and Akka's own messages go over the wire");

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, Type? type) =>
        throw new SerializationException($"refused to deserialise {type?.FullName ?? "a payload"}: only registered contracts are accepted");
}
