namespace Cluster.Serialization;

/// <summary>
/// A failure another node reported (an Akka <c>Status.Failure</c> over the wire), as data: the exception type's name as
/// the sender wrote it and its message. The named type is never loaded or instantiated (see
/// <see cref="SafeMiscMessageSerializer"/>).
/// </summary>
public sealed class RemoteFailure : Exception
{
    public RemoteFailure(string typeName, string message)
        : base(message.Length == 0 ? $"a remote {typeName}" : message)
    {
        TypeName = typeName;
    }

    /// <summary>The exception type the sender named (text only).</summary>
    public string TypeName { get; }

    public override string ToString() => $"{TypeName} (remote): {Message}";
}
