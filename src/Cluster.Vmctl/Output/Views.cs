using Cluster.Contracts.Events;
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
