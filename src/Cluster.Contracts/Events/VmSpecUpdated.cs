using Cluster.Contracts.Vms;
using MessagePack;

namespace Cluster.Contracts.Events;

/// <summary>The VM's spec was replaced by <paramref name="Spec"/> while it was not running (<see cref="Commands.UpdateVmSpec"/>);
/// the status and its time stay as they were.</summary>
[MessagePackObject]
public sealed record VmSpecUpdated(
    string VmId, DateTime At, string Reason, [property: Key(3)] VmSpec Spec) : VmEvent(VmId, At, Reason);
