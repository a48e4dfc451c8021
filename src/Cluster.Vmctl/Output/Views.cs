using Cluster.Contracts.Events;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Replies;

namespace Cluster.Vmctl.Output;

/// <summary>A VM as vmctl prints it (tables and --json).</summary>
public sealed record VmView(
    string Id, string Name, string Status, int Vcpus, ulong MemoryBytes, string Image, IReadOnlyList<string> Args,
    IReadOnlyDictionary<string, string> Labels, string? AntiAffinityGroup, string RestartPolicy, int MaxRestarts,
    int Restarts, DateTime Since, string Reason, string Node)
{
    public static VmView Of(VmInfo info) => new(
        info.Spec.Id, info.Spec.Name, info.Status.ToString(), info.Spec.Vcpus, info.Spec.MemoryBytes, info.Spec.Image.Describe(),
        info.Spec.Args, info.Spec.Labels, info.Spec.AntiAffinityGroup, info.Spec.Restart.Mode.ToString(), info.Spec.Restart.MaxRestarts,
        info.Restarts, info.Since, info.Reason, info.Node);
}

/// <summary>A lifecycle event as vmctl prints it.</summary>
public sealed record EventView(string Event, DateTime At, string Reason)
{
    public static EventView Of(VmEvent e) => new(e.GetType().Name, e.At, e.Reason);
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
