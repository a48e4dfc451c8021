using MessagePack;

namespace Cluster.Contracts.Rebalancing;

/// <summary>What the rebalancer does with the moves it plans.</summary>
public enum RebalanceMode
{
    /// <summary>Plans nothing.</summary>
    Off = 0,
    /// <summary>Plans and shows the moves; moves nothing.</summary>
    Recommend = 1,
    /// <summary>Plans and carries out the moves by live migration.</summary>
    Automatic = 2,
}

/// <summary>
/// Marks a host unschedulable and live-migrates every VM off it. Answered with <see cref="DrainStarted"/>
/// or <see cref="Hosts.HostNotFound"/>.
/// </summary>
[MessagePackObject]
public sealed record DrainHost([property: Key(0)] string Host) : IClusterMessage;

/// <summary>Makes a drained host schedulable again. Answered with <see cref="HostUndrained"/> or <see cref="Hosts.HostNotFound"/>.</summary>
[MessagePackObject]
public sealed record UndrainHost([property: Key(0)] string Host) : IClusterMessage;

/// <summary>The drain began: <paramref name="Vms"/> are to leave the host.</summary>
[MessagePackObject]
public sealed record DrainStarted([property: Key(0)] string Host, [property: Key(1)] IReadOnlyList<string> Vms) : Replies.IVmReply;

/// <summary>The host takes new VMs again.</summary>
[MessagePackObject]
public sealed record HostUndrained([property: Key(0)] string Host) : Replies.IVmReply;

/// <summary>Sets the rebalancer's mode; answered with <see cref="RebalanceStatus"/>.</summary>
[MessagePackObject]
public sealed record SetRebalanceMode([property: Key(0)] RebalanceMode Mode) : IClusterMessage;

/// <summary>Asks the rebalancer where it stands; answered with <see cref="RebalanceStatus"/>.</summary>
public sealed class GetRebalanceStatus : IClusterMessage
{
    /// <summary>The one instance.</summary>
    public static GetRebalanceStatus Instance { get; } = new();

    private GetRebalanceStatus()
    {
    }
}
