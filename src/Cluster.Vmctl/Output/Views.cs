using System.Text.Json.Serialization;
using Cluster.Contracts.Events;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Validation;
using Cluster.Contracts.Vms;

namespace Cluster.Vmctl.Output;

/// <summary>A VM as vmctl prints it (tables and --json).</summary>
public sealed record VmView(
    string Id, string Name, string Status, int Vcpus, ulong MemoryBytes, string Image, IReadOnlyList<string> Args,
    IReadOnlyDictionary<string, string> Labels, string? AntiAffinityGroup, string RestartPolicy, int MaxRestarts,
    int Restarts, DateTime Since, string Reason, string Node, IReadOnlyList<DiskView> Disks, IReadOnlyList<NicSpec> Nics)
{
    public static VmView Of(VmInfo info) => new(
        info.Spec.Id, info.Spec.Name, info.Status.ToString(), info.Spec.Vcpus, info.Spec.MemoryBytes, info.Spec.Image.Describe(),
        info.Spec.Args, info.Spec.Labels, info.Spec.AntiAffinityGroup, info.Spec.Restart.Mode.ToString(), info.Spec.Restart.MaxRestarts,
        info.Restarts, info.Since, info.Reason, info.Node, [.. info.Spec.Disks.Select(DiskView.Of)], info.Spec.Nics);
}

/// <summary>A network as vmctl prints it (<c>vmctl network list|show</c>): the mode in lower case, its addresses.</summary>
public sealed record NetworkView(string Name, string Mode, string? Subnet, string? Bridge, int Mtu, int Vni, IReadOnlyList<NetworkAddress> Addresses)
{
    public static NetworkView Of(NetworkInfo info) => new(info.Spec.Name, info.Spec.Mode.ToString().ToLowerInvariant(), info.Spec.Subnet,
        info.Spec.Bridge, info.Spec.Mtu, info.Spec.Vni, info.Addresses);
}

/// <summary>A VM's disk as vmctl prints it: format auto when probed, identity null until the VM first started.</summary>
public sealed record DiskView(string Path, string Format, bool ReadOnly, string Cache, string? Serial, string? Identity)
{
    public static DiskView Of(DiskSpec d) =>
        new(d.Path, DiskSpecText.Name(d.Format), d.ReadOnly, DiskSpecText.Name(d.Cache), d.Serial, d.Identity) { Text = d.Describe() };

    /// <summary>The disk in the command-line syntax (for tables; --json has the fields).</summary>
    [JsonIgnore]
    public string Text { get; init; } = "";
}

/// <summary>A lifecycle event as vmctl prints it; migration events carry their figures in <see cref="Migration"/>.</summary>
public sealed record EventView(string Event, DateTime At, string Reason, MigrationEventView? Migration)
{
    public static EventView Of(VmEvent e) => new(e.GetType().Name, e.At, e.Reason, MigrationEventView.Of(e));
}

/// <summary>A host as vmctl prints it (<c>vmctl nodes</c>).</summary>
public sealed record HostView(
    string Host, int Vcpus, ulong MemoryBytes, int Vms, int RunningVms, int UsedVcpus, ulong UsedMemoryBytes, double Load,
    ulong MemoryInUseBytes, string CpuVendor, IReadOnlyDictionary<string, string> Labels, IReadOnlyList<string> VmIds)
{
    public static HostView Of(HostStatus h) => new(
        h.Host, h.Vcpus, h.MemoryBytes, h.Vms.Count, h.RunningVms, h.Vms.Sum(v => v.Vcpus), h.Vms.Aggregate(0UL, (s, v) => s + v.MemoryBytes),
        h.GuestCpuSeconds, h.MemoryInUseBytes, h.CpuVendor, h.Labels, [.. h.Vms.Select(v => v.VmId)]);
}

/// <summary>
/// The migration figures of an event: route, cause and limits when it started, the new epoch at the commit,
/// the measured figures when it completed, whether it was cancelled when it failed. Fields an event does not
/// carry are null.
/// </summary>
public sealed record MigrationEventView(
    string MigrationId, string? From, string? To, string? Trigger, string? Summary, IReadOnlyDictionary<string, string>? Inputs,
    int? DowntimeLimitMs, long? BandwidthBytesPerSecond, string? Strategy, int? Connections, long? Epoch,
    double? DowntimeMs, double? TotalMs, long? WireBytes, int? Rounds, string? Mode, bool? Cancelled)
{
    /// <summary>The view of a migration event, or null for any other event.</summary>
    public static MigrationEventView? Of(VmEvent e) => e switch
    {
        VmMigrationStarted s => new(s.MigrationId, s.From, s.To, s.Cause.Trigger.ToString(), s.Cause.Summary, s.Cause.Inputs,
            s.Limits.DowntimeMs, s.Limits.BandwidthBytesPerSecond, s.Limits.Strategy.ToString(), s.Limits.Connections,
            null, null, null, null, null, null, null),
        VmMigrated m => new(m.MigrationId, m.From, m.To, null, null, null, null, null, null, null, m.Epoch, null, null, null, null, null, null),
        VmMigrationCompleted c => new(c.MigrationId, null, null, null, null, null, null, null, null, null, null,
            c.DowntimeMs, c.TotalMs, c.WireBytes, c.Rounds, c.Mode, null),
        VmMigrationFailed f => new(f.MigrationId, null, f.To, null, null, null, null, null, null, null, null, null, null, null, null, null, f.Cancelled),
        _ => null,
    };

    /// <summary>The limits in words (downtime 300 ms, bandwidth 100.0 MiB/s, Auto, 1 connection), or null when not a start.</summary>
    public string? Limits => DowntimeLimitMs is null ? null
        : $"downtime {DowntimeLimitMs} ms, bandwidth {(BandwidthBytesPerSecond is null or 0 ? "unlimited" : Human.Rate(BandwidthBytesPerSecond.Value))}, "
          + $"{Strategy}, {Connections} connection{(Connections == 1 ? "" : "s")}";

    /// <summary>The figures of a completed migration in words, or null for any other event.</summary>
    public string? Figures => DowntimeMs is null ? null
        : $"downtime {Human.Duration(DowntimeMs.Value)}, total {Human.Duration(TotalMs ?? -1)}, {Rounds} rounds, {Human.Bytes(WireBytes ?? 0)} sent ({Mode})";

    /// <summary>One short line for the events table.</summary>
    public string Detail => this switch
    {
        { Trigger: not null } => $"{MigrationId}: {From} -> {To}, by {Trigger.ToLowerInvariant()}",
        { Epoch: not null } => $"{MigrationId}: now on {To} (epoch {Epoch})",
        { Figures: not null } => $"{MigrationId}: {Figures}",
        _ => $"{MigrationId}: {(Cancelled == true ? "cancelled" : "failed")}, stays on its source",
    };
}
