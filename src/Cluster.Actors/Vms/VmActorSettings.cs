using Akka.Configuration;

namespace Cluster.Actors.Vms;

/// <summary>Tunables of the VM actors, read from the <c>cluster-hypervisor</c> HOCON section.</summary>
/// <param name="SnapshotEvery">Snapshot a VM's state every this many events.</param>
/// <param name="ConsoleBufferBytes">Serial console bytes kept per VM.</param>
/// <param name="EventsKept">Lifecycle events kept per VM for queries.</param>
/// <param name="Node">This node's address ("host:port"), reported in VM info.</param>
public sealed record VmActorSettings(int SnapshotEvery, int ConsoleBufferBytes, int EventsKept, string Node)
{
    /// <summary>Reads the settings from <paramref name="config"/>.</summary>
    public static VmActorSettings From(Config config, string node) => new(
        config.GetInt("cluster-hypervisor.snapshot-every", 50),
        (int)(config.GetByteSize("cluster-hypervisor.console-buffer-bytes", null) ?? 65536),
        config.GetInt("cluster-hypervisor.events-kept", 100),
        node);
}
