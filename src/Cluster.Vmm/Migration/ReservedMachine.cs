using Cluster.Vmm.Machine;

namespace Cluster.Vmm.Migration;

/// <summary>
/// The check of a source's Hello against the machine the target reserved (what its node asked it to receive): the
/// target builds the incoming machine from its reservation, never from the peer's description, so every field that
/// shapes the machine (image, arguments, vCPUs, memory, disks) must be the same, and a difference is named.
/// </summary>
public static class ReservedMachine
{
    /// <summary>Why <paramref name="offered"/> (from the Hello) is not <paramref name="reserved"/>, or null when it is.</summary>
    public static string? Difference(MachineConfig reserved, MachineConfig offered)
    {
        ArgumentNullException.ThrowIfNull(reserved);
        ArgumentNullException.ThrowIfNull(offered);
        if (offered.MemoryBytes != reserved.MemoryBytes)
            return $"memory size mismatch: the VM has {offered.MemoryBytes} bytes, this target expects {reserved.MemoryBytes}";
        if (offered.Vcpus != reserved.Vcpus)
            return $"vCPU count mismatch: the VM has {offered.Vcpus}, this target expects {reserved.Vcpus}";
        if (!Equals(offered.Image, reserved.Image))
            return $"guest image mismatch: the source names {offered.Image}, this target expects {reserved.Image}";
        if (!offered.Args.SequenceEqual(reserved.Args, StringComparer.Ordinal))
            return $"guest arguments mismatch: the source names [{string.Join(", ", offered.Args)}], this target expects [{string.Join(", ", reserved.Args)}]";
        if (offered.Disks.Count != reserved.Disks.Count)
            return $"disk count mismatch: the VM has {offered.Disks.Count}, this target expects {reserved.Disks.Count}";
        for (int i = 0; i < reserved.Disks.Count; i++)
        {
            var (o, r) = (offered.Disks[i], reserved.Disks[i]);
            if (o.Path != r.Path || o.Format != r.Format || o.ReadOnly != r.ReadOnly || o.Cache != r.Cache || o.Serial != r.Serial)
                return $"disk {i} mismatch: the source names {Describe(o)}, this target expects {Describe(r)}";
        }
        return null;
    }

    private static string Describe(DiskConfig d) =>
        $"{d.Path} ({d.Format?.ToString() ?? "probed"}, {(d.ReadOnly ? "read-only" : "read-write")}, cache {d.Cache}, serial {d.Serial ?? "default"})";
}
