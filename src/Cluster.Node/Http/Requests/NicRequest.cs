using System.Text.Json.Serialization;

namespace Cluster.Node.Http.Requests;

/// <summary>One network interface of a <see cref="VmSpecRequest"/>: the cluster assigns the address (an "ip" is refused as an unknown field).</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record NicRequest
{
    /// <summary>The network's name.</summary>
    public required string Network { get; init; }

    /// <summary>The MAC address; the cluster picks one when absent.</summary>
    public string? Mac { get; init; }
}
