using Cluster.Contracts.Replies;
using MessagePack;

namespace Cluster.Contracts.Networks;

/// <summary>A command to the cluster's network registry.</summary>
public interface INetworkCommand : IClusterMessage;

/// <summary>
/// Creates a network; answered with its <see cref="NetworkInfo"/> (VNI and MTU as the cluster decided them),
/// <see cref="ValidationFailed"/> for a bad spec, or <see cref="NetworkRefused"/> (a name taken, a subnet that overlaps
/// another network's).
/// </summary>
[MessagePackObject]
public sealed record CreateNetwork([property: Key(0)] NetworkSpec Spec) : INetworkCommand;

/// <summary>Deletes a network no VM uses; answered with <see cref="NetworkRemoved"/>, <see cref="NetworkNotFound"/> or <see cref="NetworkRefused"/>.</summary>
[MessagePackObject]
public sealed record DeleteNetwork([property: Key(0)] string Name) : INetworkCommand;

/// <summary>Asks for one network and its addresses; answered with <see cref="NetworkInfo"/> or <see cref="NetworkNotFound"/>.</summary>
[MessagePackObject]
public sealed record GetNetwork([property: Key(0)] string Name) : INetworkCommand;

/// <summary>Asks for every network; answered with <see cref="NetworkList"/>.</summary>
public sealed class ListNetworks : INetworkCommand
{
    /// <summary>The one instance.</summary>
    public static ListNetworks Instance { get; } = new();

    private ListNetworks()
    {
    }
}

/// <summary>
/// Between the cluster's own actors (no client sends it): gives the NICs of a VM being created their MACs (generated
/// where absent) and addresses; answered with <see cref="NicsAssigned"/> or <see cref="NotAllowed"/> (an unknown
/// network, a MAC in use, a full subnet, a VM id that already holds addresses).
/// </summary>
[MessagePackObject]
public sealed record AssignNics([property: Key(0)] string VmId, [property: Key(1)] IReadOnlyList<NicSpec> Nics) : INetworkCommand, IWithVmId;

/// <summary>The NICs of a VM as the registry recorded them: each with its MAC and its address (null without a subnet).</summary>
[MessagePackObject]
public sealed record NicsAssigned([property: Key(0)] string VmId, [property: Key(1)] IReadOnlyList<NicSpec> Nics) : IVmReply, IWithVmId;

/// <summary>Between the cluster's own actors: frees the addresses of a deleted VM (or of a create that failed); answered with <see cref="NicsReleased"/>.</summary>
[MessagePackObject]
public sealed record ReleaseNics([property: Key(0)] string VmId) : INetworkCommand, IWithVmId;

/// <summary>The VM holds no address any more.</summary>
[MessagePackObject]
public sealed record NicsReleased([property: Key(0)] string VmId) : IVmReply, IWithVmId;

/// <summary>One address of a network: a VM's NIC, its MAC and its IPv4 address (null without a subnet).</summary>
[MessagePackObject]
public sealed record NetworkAddress([property: Key(0)] string VmId, [property: Key(1)] string Mac, [property: Key(2)] string? Ip) : IClusterMessage;

/// <summary>A network as the cluster keeps it, with the addresses it assigned, in the order it assigned them.</summary>
[MessagePackObject]
public sealed record NetworkInfo([property: Key(0)] NetworkSpec Spec, [property: Key(1)] IReadOnlyList<NetworkAddress> Addresses) : IVmReply;

/// <summary>Every network, by name.</summary>
[MessagePackObject]
public sealed record NetworkList([property: Key(0)] IReadOnlyList<NetworkInfo> Networks) : IVmReply;

/// <summary>No network has this name.</summary>
[MessagePackObject]
public sealed record NetworkNotFound([property: Key(0)] string Name) : IVmReply;

/// <summary>The network command was refused: <paramref name="Reason"/> says why.</summary>
[MessagePackObject]
public sealed record NetworkRefused([property: Key(0)] string Name, [property: Key(1)] string Reason) : IVmReply;

/// <summary>The network is deleted: every host removes its part.</summary>
[MessagePackObject]
public sealed record NetworkRemoved([property: Key(0)] string Name) : IVmReply;
