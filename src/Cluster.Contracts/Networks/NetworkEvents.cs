using MessagePack;

namespace Cluster.Contracts.Networks;

/// <summary>An event of the network registry (persistence id "networks").</summary>
public interface INetworkEvent : IClusterMessage;

/// <summary>A network was created, with its VNI and MTU decided.</summary>
[MessagePackObject]
public sealed record NetworkCreated([property: Key(0)] NetworkSpec Spec) : INetworkEvent;

/// <summary>A network was deleted.</summary>
[MessagePackObject]
public sealed record NetworkDeleted([property: Key(0)] string Name) : INetworkEvent;

/// <summary>A VM's NIC on <paramref name="Network"/> got <paramref name="Mac"/> and <paramref name="Ip"/> (null without a subnet).</summary>
[MessagePackObject]
public sealed record AddressAssigned(
    [property: Key(0)] string Network,
    [property: Key(1)] string VmId,
    [property: Key(2)] string Mac,
    [property: Key(3)] string? Ip) : INetworkEvent;

/// <summary>Every address <paramref name="VmId"/> held is free again (the VM was deleted, or its create failed).</summary>
[MessagePackObject]
public sealed record AddressesReleased([property: Key(0)] string VmId) : INetworkEvent;
