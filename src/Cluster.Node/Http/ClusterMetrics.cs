using System.Diagnostics.Metrics;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;

namespace Cluster.Node.Http;

/// <summary>
/// The cluster's figures as OpenTelemetry instruments (meter <see cref="MeterName"/>), read from the last answers to
/// ListHosts, ListVms and ListMigrations that <see cref="MetricsEndpoint"/> asked for with the scraper's token: per host
/// (vCPU and memory capacity, guest CPU load, guest memory in use, VMs placed and running, and the disk and network
/// traffic of its guests since its node started), per VM (vCPUs, memory, CPU load, memory in use, and its disk and
/// network traffic since its guest started on its host: counters that start again from zero when it restarts or
/// migrates, which Prometheus's rate() takes as a reset), VMs by status, and the migrations the cluster remembers (by
/// state, in progress, wire bytes and the longest downtime). Observable instruments: nothing is counted here between
/// scrapes. The I/O counters are exported as <c>cluster_vm_disk_read_bytes_total</c>, <c>..._disk_write_bytes_total</c>,
/// <c>..._disk_read_ops_total</c>, <c>..._disk_write_ops_total</c>, <c>..._net_rx_bytes_total</c>, <c>..._net_tx_bytes_total</c>,
/// <c>..._net_rx_packets_total</c>, <c>..._net_tx_packets_total</c>, and the same names under <c>cluster_host_</c>; a VM or a
/// host whose host does not report them (a node of an older version) has none.
/// </summary>
public sealed class ClusterMetrics : IDisposable
{
    /// <summary>The meter's name (what the exporter is told to read).</summary>
    public const string MeterName = "ClusterHypervisor";

    private readonly Meter _meter = new(MeterName);
    private volatile Snapshot _last = new([], [], []);

    public ClusterMetrics()
    {
        _meter.CreateObservableGauge("cluster_host_vcpus", () => PerHost(h => h.Vcpus), "{vcpu}", "vCPUs the host offers to guests");
        _meter.CreateObservableGauge("cluster_host_memory", () => PerHost(h => (long)h.MemoryBytes), "By", "memory the host offers to guests");
        _meter.CreateObservableGauge("cluster_host_memory_in_use", () => PerHost(h => (long)h.MemoryInUseBytes), "By", "guest memory mapped by the host's running VMs");
        _meter.CreateObservableGauge("cluster_host_guest_cpu_load", () => PerHostDouble(h => h.GuestCpuSeconds), "1", "guest CPU seconds per second on the host");
        _meter.CreateObservableGauge("cluster_host_vms", () => PerHost(h => h.Vms.Count), "{vm}", "VMs placed on the host");
        _meter.CreateObservableGauge("cluster_host_running_vms", () => PerHost(h => h.RunningVms), "{vm}", "VMs running on the host");
        _meter.CreateObservableGauge("cluster_vm_cpu_load", () => PerVm(v => v.CpuLoad), "1", "CPU seconds per second the VM used");
        _meter.CreateObservableGauge("cluster_vm_memory_in_use", () => PerVm(v => v.MemoryUsedBytes ?? 0), "By", "the VM's working set");
        _meter.CreateObservableGauge("cluster_vm_vcpus", () => _last.Vms.Select(v => new Measurement<long>(v.Spec.Vcpus, Tag("vm", v.VmId), Tag("host", v.Node))), "{vcpu}", "the VM's vCPUs");
        _meter.CreateObservableGauge("cluster_vm_memory", () => _last.Vms.Select(v => new Measurement<long>((long)v.Spec.MemoryBytes, Tag("vm", v.VmId), Tag("host", v.Node))), "By", "the VM's memory size");
        foreach (var (name, unit, what, value) in IoInstruments)
        {
            _meter.CreateObservableCounter("cluster_vm_" + name, () => PerVmIo(value), unit, what + " by the VM since its guest started on its host");
            _meter.CreateObservableCounter("cluster_host_" + name, () => PerHostIo(value), unit, what + " by the host's guests since its node started");
        }
        _meter.CreateObservableGauge("cluster_vms", () => _last.Vms.GroupBy(v => v.Status)
            .Select(g => new Measurement<long>(g.Count(), Tag("status", g.Key.ToString().ToLowerInvariant()))), "{vm}", "VMs by status");
        _meter.CreateObservableGauge("cluster_migrations", () => _last.Migrations.GroupBy(m => m.State)
            .Select(g => new Measurement<long>(g.Count(), Tag("state", g.Key.ToString().ToLowerInvariant()))), "{migration}", "migrations the cluster remembers, by state");
        _meter.CreateObservableGauge("cluster_migrations_in_progress", () => _last.Migrations.Count(m => m.InProgress), "{migration}", "migrations under way");
        _meter.CreateObservableGauge("cluster_migration_wire", () => _last.Migrations.Sum(m => m.WireBytes), "By", "bytes sent by the migrations the cluster remembers");
        _meter.CreateObservableGauge("cluster_migration_downtime_max", () => _last.Migrations.Select(m => m.DowntimeMs ?? 0).DefaultIfEmpty(0).Max(), "ms", "the longest downtime of the migrations the cluster remembers");
    }

    /// <summary>Takes the cluster's latest answers.</summary>
    public void Update(HostList hosts, VmList vms, MigrationList migrations) => _last = new Snapshot(hosts.Hosts, vms.Vms, migrations.Migrations);

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<long>> PerHost(Func<HostStatus, long> value) =>
        _last.Hosts.Select(h => new Measurement<long>(value(h), Tag("host", h.Host)));

    private IEnumerable<Measurement<double>> PerHostDouble(Func<HostStatus, double> value) =>
        _last.Hosts.Select(h => new Measurement<double>(value(h), Tag("host", h.Host)));

    private IEnumerable<Measurement<double>> PerVm(Func<PlacedVm, double> value) =>
        _last.Hosts.SelectMany(h => h.Vms.Select(v => new Measurement<double>(value(v), Tag("vm", v.VmId), Tag("host", h.Host))));

    /// <summary>The I/O counters: the instrument's name after its prefix, its unit (Prometheus adds "_bytes" for By), what it counts, its value.</summary>
    private static readonly (string Name, string Unit, string What, Func<IoTotals, long> Value)[] IoInstruments =
    [
        ("disk_read", "By", "bytes read from its disks", io => io.DiskReadBytes),
        ("disk_write", "By", "bytes written to its disks", io => io.DiskWriteBytes),
        ("disk_read_ops", "{operation}", "read requests served", io => io.DiskReadOps),
        ("disk_write_ops", "{operation}", "write requests served", io => io.DiskWriteOps),
        ("net_rx", "By", "bytes received by its NICs", io => io.NetRxBytes),
        ("net_tx", "By", "bytes sent by its NICs", io => io.NetTxBytes),
        ("net_rx_packets", "{packet}", "frames received", io => io.NetRxPackets),
        ("net_tx_packets", "{packet}", "frames sent", io => io.NetTxPackets),
    ];

    private IEnumerable<Measurement<long>> PerVmIo(Func<IoTotals, long> value) =>
        _last.Hosts.SelectMany(h => h.Vms.Where(v => v.Io is not null).Select(v => new Measurement<long>(value(v.Io!), Tag("vm", v.VmId), Tag("host", h.Host))));

    private IEnumerable<Measurement<long>> PerHostIo(Func<IoTotals, long> value) =>
        _last.Hosts.Where(h => h.Io is not null).Select(h => new Measurement<long>(value(h.Io!), Tag("host", h.Host)));

    private static KeyValuePair<string, object?> Tag(string name, object? value) => new(name, value);

    private sealed record Snapshot(IReadOnlyList<HostStatus> Hosts, IReadOnlyList<VmInfo> Vms, IReadOnlyList<MigrationInfo> Migrations);
}
