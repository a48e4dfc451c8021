using Cluster.Contracts.Vms;

namespace Cluster.Actors.Placement;

/// <summary>
/// The pure placement rule shared by admission control and the shard allocation strategy. A host fits
/// a VM when it carries every label the VM requires (the spec's labels prefixed <c>require.</c>, for
/// example <c>require.zone=a</c>), holds no VM of the VM's anti-affinity group, has the vCPUs (times the
/// overcommit ratio) and the memory free. Among the hosts that fit, spread takes the emptiest and pack
/// the fullest; ties go to the lowest address so every node decides alike.
/// </summary>
public static class Placer
{
    /// <summary>Label keys with this prefix are requirements on the host's labels.</summary>
    public const string RequirePrefix = "require.";

    /// <summary>Chooses a host for <paramref name="spec"/>, or says which resource is short.</summary>
    public static PlacementResult Choose(VmSpec spec, IReadOnlyCollection<HostView> hosts, PlacementSettings settings)
    {
        if (hosts.Count == 0)
            return PlacementResult.Refused("hosts", "no host is up");
        var required = spec.Labels.Where(l => l.Key.StartsWith(RequirePrefix, StringComparison.Ordinal))
            .Select(l => (Key: l.Key[RequirePrefix.Length..], l.Value)).ToList();
        var labelled = hosts.Where(h => required.All(r => h.Labels.TryGetValue(r.Key, out var v) && v == r.Value)).ToList();
        if (labelled.Count == 0)
            return PlacementResult.Refused("labels",
                $"no host has the labels {string.Join(", ", required.Select(r => $"{r.Key}={r.Value}"))}");
        var apart = spec.AntiAffinityGroup is null
            ? labelled
            : labelled.Where(h => !h.Vms.Any(v => v.VmId != spec.Id && v.AntiAffinityGroup == spec.AntiAffinityGroup)).ToList();
        if (apart.Count == 0)
            return PlacementResult.Refused("anti-affinity",
                $"every host with the required labels already runs a VM of group '{spec.AntiAffinityGroup}'");
        var cpuFits = apart.Where(h => FreeVcpus(h, spec.Id, settings) >= spec.Vcpus).ToList();
        var memFits = apart.Where(h => FreeMemory(h, spec.Id, settings) >= spec.MemoryBytes).ToList();
        if (cpuFits.Count == 0)
            return PlacementResult.Refused("vcpus",
                $"needs {spec.Vcpus} vCPUs; the most free on a host is {apart.Max(h => FreeVcpus(h, spec.Id, settings)):0.##}");
        if (memFits.Count == 0)
            return PlacementResult.Refused("memory",
                $"needs {spec.MemoryBytes} bytes; the most free on a host is {apart.Max(h => FreeMemory(h, spec.Id, settings))}");
        var fits = cpuFits.Intersect(memFits).ToList();
        if (fits.Count == 0)
            return PlacementResult.Refused("vcpus+memory", "no single host has both the vCPUs and the memory free");
        var ordered = settings.Mode == PlacementMode.Spread
            ? fits.OrderByDescending(h => Free(h, spec.Id, settings))
            : fits.OrderBy(h => Free(h, spec.Id, settings));
        return PlacementResult.On(ordered.ThenBy(h => h.Host, StringComparer.Ordinal).First().Host);
    }

    private static double FreeVcpus(HostView h, string id, PlacementSettings s) => h.Vcpus * s.VcpuOvercommit - h.UsedVcpus(id);

    private static double FreeMemory(HostView h, string id, PlacementSettings s) =>
        Math.Max(0, h.MemoryBytes * s.MemoryOvercommit - h.UsedMemory(id));

    /// <summary>The free share of the host, the smaller of its free vCPU and free memory fractions.</summary>
    private static double Free(HostView h, string id, PlacementSettings s) => Math.Min(
        h.Vcpus == 0 ? 0 : FreeVcpus(h, id, s) / (h.Vcpus * s.VcpuOvercommit),
        h.MemoryBytes == 0 ? 0 : FreeMemory(h, id, s) / (h.MemoryBytes * s.MemoryOvercommit));
}
