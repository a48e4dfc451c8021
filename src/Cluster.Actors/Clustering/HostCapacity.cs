using Akka.Configuration;
using Cluster.Serialization;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Actors.Clustering;

/// <summary>What a host offers guests, from <c>cluster-hypervisor.host</c> and the CPU backend.</summary>
/// <param name="Vcpus">Physical vCPUs for guests (default: the machine's processor count).</param>
/// <param name="MemoryBytes">Memory for guests (default: 3/4 of the machine's memory).</param>
/// <param name="Labels">The host's labels.</param>
/// <param name="Cpu">The CPU model the backend offers.</param>
public sealed record HostCapacity(int Vcpus, ulong MemoryBytes, IReadOnlyDictionary<string, string> Labels, CpuModel Cpu)
{
    /// <summary>Reads the capacity; zero values mean "what the machine has".</summary>
    public static HostCapacity From(Config config, CpuModel cpu)
    {
        var vcpus = config.GetInt("cluster-hypervisor.host.vcpus", 0);
        var memory = ConfigSize.Get(config, "cluster-hypervisor.host.memory") ?? 0;
        var labels = config.GetConfig("cluster-hypervisor.host.labels") is { IsEmpty: false } section
            ? section.AsEnumerable().ToDictionary(kv => kv.Key, kv => kv.Value.GetString(), StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);
        return new HostCapacity(
            vcpus > 0 ? vcpus : Environment.ProcessorCount,
            memory > 0 ? memory : (ulong)GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4 * 3,
            labels,
            cpu);
    }
}
