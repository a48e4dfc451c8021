using System.Runtime.Serialization;
using Cluster.Contracts.Access;
using MessagePack;

namespace Cluster.Serialization;

/// <summary>
/// Puts a command into a <see cref="BearerCommand"/> and takes it out again, with the contract serializer's own type
/// table and MessagePack options, so the envelope carries exactly what the wire would.
/// </summary>
public static class BearerCommands
{
    private static readonly MessagePackSerializerOptions Options =
        MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData);

    /// <summary>The envelope of <paramref name="command"/> with <paramref name="token"/>.</summary>
    /// <exception cref="SerializationException"><paramref name="command"/> is no contract.</exception>
    public static BearerCommand Wrap(string token, object command)
    {
        var (manifest, payload) = Encode(command);
        return new BearerCommand(token, manifest, payload);
    }

    /// <summary>The command inside <paramref name="envelope"/>, or null with <paramref name="error"/> when it is no readable contract.</summary>
    public static object? Unwrap(BearerCommand envelope, out string? error) => Decode(envelope.Manifest, envelope.Payload, out error);

    /// <summary>A contract as its manifest (its type's full name) and its MessagePack bytes: what the wire carries.</summary>
    /// <exception cref="SerializationException"><paramref name="contract"/> is no contract.</exception>
    public static (string Manifest, byte[] Payload) Encode(object contract)
    {
        var manifest = ContractTypes.ManifestOf(contract.GetType());
        if (!ContractTypes.ByManifest.ContainsKey(manifest))
            throw new SerializationException($"{contract.GetType()} is not a contract");
        var payload = ContractTypes.SingletonOf(contract.GetType()) is not null
            ? [0x90]
            : MessagePackSerializer.Serialize(contract.GetType(), contract, Options);
        return (manifest, payload);
    }

    /// <summary>The contract of <paramref name="manifest"/> read from <paramref name="payload"/> (every byte of it), or null
    /// with <paramref name="error"/> when the manifest names no contract or the bytes are no such value.</summary>
    public static object? Decode(string? manifest, byte[]? payload, out string? error)
    {
        error = null;
        if (manifest is null || !ContractTypes.ByManifest.TryGetValue(manifest, out var type))
        {
            error = $"unknown command type '{manifest}'";
            return null;
        }
        if (ContractTypes.SingletonOf(type) is { } singleton)
            return singleton;
        try
        {
            var reader = new MessagePackReader(payload ?? []);
            var value = MessagePackSerializer.Deserialize(type, ref reader, Options);
            if (value is null || reader.Consumed != (payload ?? []).Length)
                error = $"{type.Name} is malformed";
            return error is null ? value : null;
        }
        catch (MessagePackSerializationException e)
        {
            error = $"{type.Name} is malformed: {e.Message}";
            return null;
        }
    }
}
