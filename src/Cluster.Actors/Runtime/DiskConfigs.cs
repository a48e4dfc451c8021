using Cluster.Contracts.Vms;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Storage;

namespace Cluster.Actors.Runtime;

/// <summary>Maps the disks of a spec (Contracts' names) to the VMM's <see cref="DiskConfig"/>.</summary>
public static class DiskConfigs
{
    /// <summary>The VMM's configuration of <paramref name="disk"/>.</summary>
    public static DiskConfig Of(DiskSpec disk) => new(
        disk.Path,
        disk.Format switch
        {
            null => null,
            DiskImageFormat.Raw => DiskFormat.Raw,
            DiskImageFormat.Qcow2 => DiskFormat.Qcow2,
            var other => throw new ArgumentOutOfRangeException(nameof(disk), other, "unknown disk format"),
        },
        disk.ReadOnly,
        disk.Cache switch
        {
            DiskCache.Writeback => DiskCacheMode.Writeback,
            DiskCache.None => DiskCacheMode.None,
            var other => throw new ArgumentOutOfRangeException(nameof(disk), other, "unknown disk cache mode"),
        },
        disk.Serial);

    /// <summary>The VMM's configuration of every disk, in order.</summary>
    public static IReadOnlyList<DiskConfig> Of(IReadOnlyList<DiskSpec> disks) => [.. disks.Select(Of)];
}
