using Cluster.Contracts.Vms;

namespace Cluster.Actors.Placement;

/// <summary>What placement needs to know of a VM: its size, its anti-affinity group and the host labels it requires.</summary>
/// <param name="VmId">The VM (it does not count against a host it is already placed on).</param>
/// <param name="Vcpus">Its vCPUs.</param>
/// <param name="MemoryBytes">Its memory.</param>
/// <param name="AntiAffinityGroup">Its anti-affinity group, or null.</param>
/// <param name="RequiredLabels">Host labels it requires (key without the <see cref="Placer.RequirePrefix"/>).</param>
public sealed record PlacementRequest(
    string VmId, int Vcpus, ulong MemoryBytes, string? AntiAffinityGroup, IReadOnlyDictionary<string, string> RequiredLabels)
{
    /// <summary>Its disks: a host must see each image (with the recorded identity, once the VM has one).</summary>
    public IReadOnlyList<DiskSpec> Disks { get; init; } = [];

    /// <summary>The request of a VM spec: its <c>require.</c> labels are the required host labels.</summary>
    public static PlacementRequest Of(VmSpec spec) => new(spec.Id, spec.Vcpus, spec.MemoryBytes, spec.AntiAffinityGroup,
        spec.Labels.Where(l => l.Key.StartsWith(Placer.RequirePrefix, StringComparison.Ordinal))
            .ToDictionary(l => l.Key[Placer.RequirePrefix.Length..], l => l.Value, StringComparer.Ordinal))
    {
        Disks = spec.Disks,
    };
}
