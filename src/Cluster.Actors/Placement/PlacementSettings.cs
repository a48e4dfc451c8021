using Akka.Configuration;

namespace Cluster.Actors.Placement;

/// <summary>How VMs are spread over hosts.</summary>
public enum PlacementMode
{
    /// <summary>Put each VM on the host with the most free capacity.</summary>
    Spread = 0,
    /// <summary>Put each VM on the fullest host that still fits it.</summary>
    Pack = 1,
}

/// <summary>Tunables of placement, from <c>cluster-hypervisor.placement</c>.</summary>
/// <param name="VcpuOvercommit">vCPUs placed per physical vCPU (1.0 = no overcommit).</param>
/// <param name="MemoryOvercommit">Guest memory placed per byte of capacity (1.0 = no overcommit, the default).</param>
/// <param name="Mode">Spread or pack.</param>
/// <param name="PendingFor">How long a fresh decision counts against its host before the host's own report does.</param>
public sealed record PlacementSettings(double VcpuOvercommit, double MemoryOvercommit, PlacementMode Mode, TimeSpan PendingFor)
{
    /// <summary>No overcommit of memory, 4x of vCPUs, spread.</summary>
    public static PlacementSettings Default { get; } = new(4.0, 1.0, PlacementMode.Spread, TimeSpan.FromSeconds(30));

    /// <summary>How long after a VM fit no live host its shard's allocation is asked for again (and again, while it fits none).</summary>
    public TimeSpan UnplacedRetry { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Reads the settings from <paramref name="config"/>.</summary>
    public static PlacementSettings From(Config config) => new(
        config.GetDouble("cluster-hypervisor.placement.vcpu-overcommit", Default.VcpuOvercommit),
        config.GetDouble("cluster-hypervisor.placement.memory-overcommit", Default.MemoryOvercommit),
        config.GetString("cluster-hypervisor.placement.mode", "spread") switch
        {
            "spread" => PlacementMode.Spread,
            "pack" => PlacementMode.Pack,
            var other => throw new ConfigurationException($"cluster-hypervisor.placement.mode must be spread or pack, not '{other}'"),
        },
        config.GetTimeSpan("cluster-hypervisor.placement.pending-for", Default.PendingFor))
    {
        UnplacedRetry = config.GetTimeSpan("cluster-hypervisor.placement.unplaced-retry", Default.UnplacedRetry),
    };
}
