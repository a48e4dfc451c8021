using MessagePack;

namespace Cluster.Contracts.Registry;

/// <summary>A persisted fact of a node's VM registry (the set of VM ids the node owns).</summary>
[Union(0, typeof(VmRegistered))]
[Union(1, typeof(VmUnregistered))]
public abstract record RegistryEvent([property: Key(0)] string VmId) : IWithVmId;

/// <summary>A VM id was taken by a new VM.</summary>
[MessagePackObject]
public sealed record VmRegistered(string VmId) : RegistryEvent(VmId);

/// <summary>A VM was deleted; its id is free.</summary>
[MessagePackObject]
public sealed record VmUnregistered(string VmId) : RegistryEvent(VmId);

/// <summary>A snapshot of a node's registry: the ids it owns.</summary>
[MessagePackObject]
public sealed record RegistrySnapshot([property: Key(0)] IReadOnlyList<string> VmIds) : IClusterMessage;
