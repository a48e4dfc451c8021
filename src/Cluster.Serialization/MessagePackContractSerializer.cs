using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using MessagePack;

namespace Cluster.Serialization;

/// <summary>
/// Akka serializer for every contract (bound in HOCON to <see cref="Cluster.Contracts.IClusterMessage"/>):
/// MessagePack with explicit keys, the type's full name as manifest. It refuses, with a
/// <see cref="SerializationException"/>, unknown manifests, payloads over
/// <c>akka.actor.serialization-settings.msgpack.max-payload-bytes</c> (both ways), truncated or
/// trailing bytes and anything MessagePack cannot read, so a bad frame costs only itself.
/// </summary>
public sealed class MessagePackContractSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer id written next to every payload (must stay stable: the journal holds it).</summary>
    public const int Id = 7301;

    private static readonly MessagePackSerializerOptions Options =
        MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData);

    /// <summary>The payload of a field-less singleton: an empty MessagePack array.</summary>
    private static readonly byte[] EmptyArray = [0x90];

    private readonly long _maxPayloadBytes;

    /// <summary>Created by Akka with the <c>serialization-settings.msgpack</c> section.</summary>
    public MessagePackContractSerializer(ExtendedActorSystem system, Config settings)
        : base(system)
    {
        var configured = ConfigSize.Get(settings, "max-payload-bytes");
        _maxPayloadBytes = configured is > 0 and <= long.MaxValue ? (long)configured.Value : DefaultMaxPayloadBytes;
    }

    /// <summary>Created by Akka when no settings section exists: the default cap applies.</summary>
    public MessagePackContractSerializer(ExtendedActorSystem system)
        : this(system, Config.Empty)
    {
    }

    /// <summary>The cap when none is configured: under Akka.Remote's default frame size.</summary>
    public const long DefaultMaxPayloadBytes = 120_000;

    /// <inheritdoc />
    public override int Identifier => Id;

    /// <summary>The largest payload accepted, in bytes.</summary>
    public long MaxPayloadBytes => _maxPayloadBytes;

    /// <inheritdoc />
    public override string Manifest(object o) => ContractTypes.ManifestOf(o.GetType());

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        if (!ContractTypes.ByManifest.ContainsKey(Manifest(obj)))
            throw new SerializationException($"{obj.GetType()} is not a MessagePack contract");
        if (ContractTypes.SingletonOf(obj.GetType()) is not null)
            return [.. EmptyArray];
        var bytes = MessagePackSerializer.Serialize(obj.GetType(), obj, Options);
        if (bytes.Length > _maxPayloadBytes)
            throw new SerializationException($"{obj.GetType().Name} is {bytes.Length} bytes, over the cap of {_maxPayloadBytes}");
        return bytes;
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!ContractTypes.ByManifest.TryGetValue(manifest, out var type))
            throw new SerializationException($"unknown manifest '{manifest}'");
        if (bytes.Length > _maxPayloadBytes)
            throw new SerializationException($"{manifest} payload is {bytes.Length} bytes, over the cap of {_maxPayloadBytes}");
        if (ContractTypes.SingletonOf(type) is { } singleton)
            return bytes.AsSpan().SequenceEqual(EmptyArray)
                ? singleton
                : throw new SerializationException($"{manifest} is field-less but its payload is {bytes.Length} bytes");
        try
        {
            var reader = new MessagePackReader(bytes);
            var value = MessagePackSerializer.Deserialize(type, ref reader, Options);
            if (reader.Consumed != bytes.Length)
                throw new SerializationException($"{manifest} payload has {bytes.Length - reader.Consumed} trailing bytes");
            return value ?? throw new SerializationException($"{manifest} payload is nil");
        }
        catch (MessagePackSerializationException e)
        {
            throw new SerializationException($"{manifest} payload is malformed: {e.Message}", e);
        }
    }
}
