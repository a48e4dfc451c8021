using Cluster.Actors.Disks;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Placement;

/// <summary>
/// The pure placement rule shared by admission control and the shard allocation strategy. A host fits
/// a VM when it carries every label the VM requires (the spec's labels prefixed <c>require.</c>, for
/// example <c>require.zone=a</c>), holds no VM of the VM's anti-affinity group, has the vCPUs (times the
/// overcommit ratio) and the memory free, is not unschedulable (being drained), and sees every disk image of the VM at its
/// path (with the identity the VM recorded at its first start, so a namesake file never counts). Among the hosts that
/// fit, spread takes the emptiest and pack the fullest; ties go to the lowest address so every node decides alike.
/// </summary>
public static class Placer
{
    /// <summary>Label keys with this prefix are requirements on the host's labels.</summary>
    public const string RequirePrefix = "require.";

    /// <summary>Chooses a host for <paramref name="spec"/>, or says which resource is short.</summary>
    public static PlacementResult Choose(VmSpec spec, IReadOnlyCollection<HostView> hosts, PlacementSettings settings) =>
        Choose(PlacementRequest.Of(spec), hosts, settings);

    /// <summary>Chooses a host for <paramref name="request"/>, or says which resource is short.</summary>
    public static PlacementResult Choose(PlacementRequest request, IReadOnlyCollection<HostView> hosts, PlacementSettings settings)
    {
        if (hosts.Count == 0)
            return PlacementResult.Refused("hosts", "no host is up");
        if (request.Disks.Count > 0)
        {
            var problems = hosts.Select(h => DiskProblem(request, h)).ToList();
            if (problems.All(p => p is not null))
                return PlacementResult.Refused("disks", $"no host can run the VM's disks: {string.Join("; ", problems)}");
            hosts = [.. hosts.Where((_, i) => problems[i] is null)];
        }
        var schedulable = hosts.Where(h => !h.Unschedulable).ToList();
        if (schedulable.Count == 0)
            return PlacementResult.Refused("unschedulable",
                $"every candidate host is unschedulable (draining): {string.Join(", ", hosts.Select(h => h.Host))}");
        var required = request.RequiredLabels;
        var labelled = schedulable.Where(h => required.All(r => h.Labels.TryGetValue(r.Key, out var v) && v == r.Value)).ToList();
        if (labelled.Count == 0)
            return PlacementResult.Refused("labels",
                $"no host has the labels {string.Join(", ", required.Select(r => $"{r.Key}={r.Value}"))}");
        var group = request.AntiAffinityGroup;
        var apart = group is null
            ? labelled
            : labelled.Where(h => !h.Vms.Any(v => v.VmId != request.VmId && v.AntiAffinityGroup == group)).ToList();
        if (apart.Count == 0)
            return PlacementResult.Refused("anti-affinity",
                $"every host with the required labels already runs a VM of group '{group}'");
        var cpuFits = apart.Where(h => FreeVcpus(h, request.VmId, settings) >= request.Vcpus).ToList();
        var memFits = apart.Where(h => FreeMemory(h, request.VmId, settings) >= request.MemoryBytes).ToList();
        if (cpuFits.Count == 0)
            return PlacementResult.Refused("vcpus",
                $"needs {request.Vcpus} vCPUs; the most free on a host is {apart.Max(h => FreeVcpus(h, request.VmId, settings)):0.##}");
        if (memFits.Count == 0)
            return PlacementResult.Refused("memory",
                $"needs {request.MemoryBytes} bytes; the most free on a host is {apart.Max(h => FreeMemory(h, request.VmId, settings))}");
        var fits = cpuFits.Intersect(memFits).ToList();
        if (fits.Count == 0)
            return PlacementResult.Refused("vcpus+memory", "no single host has both the vCPUs and the memory free");
        var ordered = settings.Mode == PlacementMode.Spread
            ? fits.OrderByDescending(h => Free(h, request.VmId, settings))
            : fits.OrderBy(h => Free(h, request.VmId, settings));
        return PlacementResult.On(ordered.ThenBy(h => h.Host, StringComparer.Ordinal).First().Host);
    }

    /// <summary>Why <paramref name="host"/> cannot run the disks of <paramref name="request"/> (the first disk it fails), or null.</summary>
    public static string? DiskProblem(PlacementRequest request, HostView host) =>
        request.Disks.Select(d => DiskIdentity.Problem(d, host.Disks.GetValueOrDefault(d.Path), host.Host)).FirstOrDefault(p => p is not null);

    private static double FreeVcpus(HostView h, string id, PlacementSettings s) => h.Vcpus * s.VcpuOvercommit - h.UsedVcpus(id);

    private static double FreeMemory(HostView h, string id, PlacementSettings s) =>
        Math.Max(0, h.MemoryBytes * s.MemoryOvercommit - h.UsedMemory(id));

    /// <summary>The free share of the host, the smaller of its free vCPU and free memory fractions.</summary>
    private static double Free(HostView h, string id, PlacementSettings s) => Math.Min(
        h.Vcpus == 0 ? 0 : FreeVcpus(h, id, s) / (h.Vcpus * s.VcpuOvercommit),
        h.MemoryBytes == 0 ? 0 : FreeMemory(h, id, s) / (h.MemoryBytes * s.MemoryOvercommit));
}
