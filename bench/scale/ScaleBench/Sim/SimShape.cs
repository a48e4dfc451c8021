namespace ScaleBench.Sim;

/// <summary>
/// The shape of a simulated cluster: identical hosts (so the mean host load does not depend on where a VM is, which the
/// move lower bound needs) in four zones, and VMs of 1, 2, 4 or 8 vCPUs (2 GiB each) of which some require a zone and
/// some belong to an anti-affinity group of three. Hosts are sized so the VMs take about 65% of the vCPU slots.
/// </summary>
/// <param name="Hosts">How many hosts.</param>
/// <param name="Vms">How many VMs.</param>
/// <param name="Seed">The random seed (sizes, zones, groups, loads).</param>
public sealed record SimShape(int Hosts, int Vms, int Seed)
{
    public const ulong GiB = 1024UL * 1024 * 1024;

    /// <summary>Zones z0..z3; host i is in zone i mod 4.</summary>
    public const int Zones = 4;

    /// <summary>The share of VMs that require a zone (require.zone=zK).</summary>
    public const double ZonedShare = 0.4;

    /// <summary>The share of VMs in an anti-affinity group (groups of three).</summary>
    public const double GroupedShare = 0.1;

    /// <summary>Physical vCPUs of every host: a multiple of 8 with the VMs (2.1 vCPUs on average, overcommit 4) at about 65%.</summary>
    public int HostVcpus => Math.Max(8, (int)Math.Ceiling((double)Vms / Hosts * 2.1 / 4 / 0.65 / 8) * 8);

    /// <summary>Memory of every host: 12 GiB per physical vCPU (the VMs take about 45%).</summary>
    public ulong HostMemory => (ulong)HostVcpus * 12 * GiB;

    /// <summary>The address of host <paramref name="i"/>.</summary>
    public static string HostName(int i) => $"h{i:D3}:7100";
}
