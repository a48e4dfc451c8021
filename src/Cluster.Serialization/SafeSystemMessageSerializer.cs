using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Remote.Serialization;
using Akka.Serialization;

namespace Cluster.Serialization;

/// <summary>
/// Akka's serializer for system messages (id 22: watch, unwatch, death-watch notifications, and the supervision
/// messages of remotely deployed actors), bound in its place by hocon/base.conf. The three that carry an exception
/// (<c>Failed</c>, <c>Recreate</c>, <c>Resume</c>) exist only for actors deployed on another node, which this product
/// never does (remote deployment's serializer is refused, see <see cref="RefusingSerializer"/>), and Akka would read
/// their exception by loading and constructing the type the sender names: from the network they are refused. Writing,
/// and every other system message, is Akka's own.
/// </summary>
public sealed class SafeSystemMessageSerializer : Serializer
{
    /// <summary>Akka's id for its system-message serializer (kept: peers name it in every frame).</summary>
    public const int Id = 22;

    private static readonly HashSet<string> CarryingExceptions = new(StringComparer.Ordinal)
    {
        "Akka.Dispatch.SysMsg.Failed",
        "Akka.Dispatch.SysMsg.Recreate",
        "Akka.Dispatch.SysMsg.Resume",
    };

    private readonly SystemMessageSerializer _akka;

    public SafeSystemMessageSerializer(ExtendedActorSystem system)
        : base(system)
    {
        _akka = new SystemMessageSerializer(system);
    }

    /// <inheritdoc />
    public override int Identifier => Id;

    /// <inheritdoc />
    public override bool IncludeManifest => _akka.IncludeManifest;

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => _akka.ToBinary(obj);

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, Type? type) =>
        type?.FullName is { } name && CarryingExceptions.Contains(name)
            ? throw new SerializationException($"refused {name} from the network: it carries an exception, and no actor of this cluster is deployed remotely")
            : _akka.FromBinary(bytes, type!);
}
