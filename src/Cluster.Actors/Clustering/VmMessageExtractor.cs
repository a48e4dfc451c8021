using Akka.Cluster.Sharding;
using Cluster.Contracts;

namespace Cluster.Actors.Clustering;

/// <summary>Routes every <see cref="IWithVmId"/> message to the VM's entity; each VM is its own shard (shard id = VM id).</summary>
public sealed class VmMessageExtractor : IMessageExtractor
{
    /// <summary>The sharded entity type name.</summary>
    public const string TypeName = "vm";

    public string? EntityId(object message) => (message as IWithVmId)?.VmId;

    public object? EntityMessage(object message) => message;

    public string? ShardId(object message) => (message as IWithVmId)?.VmId;

    public string ShardId(string entityId, object? messageHint = null) => entityId;
}
