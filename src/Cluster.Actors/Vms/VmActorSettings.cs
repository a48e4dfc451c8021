using Akka.Configuration;
using Cluster.Actors.Devices;
using Cluster.Serialization;

namespace Cluster.Actors.Vms;

/// <summary>Tunables of the VM actors, read from the <c>cluster-hypervisor</c> HOCON section.</summary>
/// <param name="SnapshotEvery">Snapshot a VM's state every this many events.</param>
/// <param name="ConsoleBufferBytes">Serial console bytes kept per VM.</param>
/// <param name="EventsKept">Lifecycle events kept per VM for queries.</param>
/// <param name="Node">This node's address ("host:port"), reported in VM info.</param>
public sealed record VmActorSettings(int SnapshotEvery, int ConsoleBufferBytes, int EventsKept, string Node)
{
    /// <summary>
    /// How many times a running VM may be moved to another host by failover (its host died and another cold-booted it)
    /// within <see cref="RelocationWindow"/> before the next host leaves it crashed instead (Proxmox's max_relocate):
    /// a guest that takes its hosts down is not restarted host after host.
    /// </summary>
    public int MaxRelocations { get; init; } = 3;

    /// <summary>The window <see cref="MaxRelocations"/> counts in.</summary>
    public TimeSpan RelocationWindow { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>How console output is coalesced and rate-limited per VM (<c>cluster-hypervisor.console</c>).</summary>
    public ConsoleLimits Console { get; init; } = ConsoleLimits.Default;

    /// <summary>Reads the settings from <paramref name="config"/>.</summary>
    public static VmActorSettings From(Config config, string node) => new(
        config.GetInt("cluster-hypervisor.snapshot-every", 50),
        (int)(ConfigSize.Get(config, "cluster-hypervisor.console-buffer-bytes") ?? 65536),
        config.GetInt("cluster-hypervisor.events-kept", 100),
        node)
    {
        MaxRelocations = config.GetInt("cluster-hypervisor.ha.max-relocations", 3),
        RelocationWindow = config.GetTimeSpan("cluster-hypervisor.ha.relocation-window", TimeSpan.FromMinutes(30)),
        Console = new ConsoleLimits(
            (int)(ConfigSize.Get(config, "cluster-hypervisor.console.chunk-bytes") ?? (ulong)ConsoleLimits.Default.ChunkBytes),
            config.GetTimeSpan("cluster-hypervisor.console.flush-interval", ConsoleLimits.Default.FlushInterval),
            (long)(ConfigSize.Get(config, "cluster-hypervisor.console.bytes-per-second") ?? (ulong)ConsoleLimits.Default.BytesPerSecond),
            (long)(ConfigSize.Get(config, "cluster-hypervisor.console.burst-bytes") ?? (ulong)ConsoleLimits.Default.BurstBytes)),
    };
}
