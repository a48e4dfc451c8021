using Cluster.Contracts.Vms;
using MessagePack;

namespace Cluster.Contracts.Events;

/// <summary>A persisted snapshot of a VM's lifecycle state, taken every N events to shorten recovery.</summary>
[MessagePackObject]
public sealed record VmSnapshot(
    [property: Key(0)] VmSpec? Spec,
    [property: Key(1)] VmStatus Status,
    [property: Key(2)] int Restarts,
    [property: Key(3)] DateTime Since,
    [property: Key(4)] string Reason,
    [property: Key(5)] IReadOnlyList<VmEvent> Events,
    [property: Key(6)] long Epoch = 0,
    [property: Key(7)] string? Owner = null,
    [property: Key(8)] int ColdStarts = 0) : IClusterMessage;
