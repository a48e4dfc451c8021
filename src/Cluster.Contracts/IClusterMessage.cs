namespace Cluster.Contracts;

/// <summary>
/// Marker of every type that crosses an actor boundary or lands in the journal. HOCON binds this
/// interface to the MessagePack serializer, so a new contract only has to implement it.
/// </summary>
public interface IClusterMessage;

/// <summary>A message addressed to one VM: the manager (and later the shard region) routes it by <see cref="VmId"/>.</summary>
public interface IWithVmId : IClusterMessage
{
    /// <summary>The id of the VM this message is about.</summary>
    string VmId { get; }
}
