using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Remote.Serialization;
using Akka.Serialization;

namespace Cluster.Serialization;

/// <summary>
/// Akka's serializer for its miscellaneous messages (id 16: Identify, ActorIdentity, actor refs, PoisonPill, remote
/// watcher heartbeats, <c>Status.Success</c>/<c>Status.Failure</c>, router configurations), bound in its place by
/// hocon/base.conf, with one change: a <c>Status.Failure</c> from the network does not go through Akka's exception
/// support, which loads the type the sender names and invokes its serialization constructor (any type on the node's
/// probing path). Its cause is read as data (type name and message, inner exceptions and custom fields ignored) into a
/// <see cref="RemoteFailure"/>; its state is dropped. Writing, and every other message, is Akka's own.
/// </summary>
public sealed class SafeMiscMessageSerializer : SerializerWithStringManifest
{
    /// <summary>Akka's id for its misc serializer (kept: peers name it in every frame).</summary>
    public const int Id = 16;

    /// <summary>Akka's manifest of <c>Status.Failure</c>.</summary>
    public const string FailureManifest = "STF";

    private readonly MiscMessageSerializer _akka;

    public SafeMiscMessageSerializer(ExtendedActorSystem system)
        : base(system)
    {
        _akka = new MiscMessageSerializer(system);
    }

    /// <inheritdoc />
    public override int Identifier => Id;

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => _akka.ToBinary(obj);

    /// <inheritdoc />
    public override string Manifest(object o) => _akka.Manifest(o);

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest) =>
        manifest == FailureManifest ? new Status.Failure(Failure(bytes)) : _akka.FromBinary(bytes, manifest);

    /// <summary>
    /// Akka's StatusFailure record: field 1 is the cause (ExceptionData: 1 type name, 2 message, 3 stack trace,
    /// 4 source, 5 inner exception, 6 custom fields), field 2 the state.
    /// </summary>
    internal static RemoteFailure Failure(byte[] bytes)
    {
        var cause = ProtoReader.Message(bytes, 1) ?? throw new SerializationException("a Status.Failure without its cause");
        var typeName = ProtoReader.String(cause, 1);
        var message = ProtoReader.String(cause, 2);
        return new RemoteFailure(typeName.Length == 0 ? "Exception" : typeName, message);
    }
}
