using Cluster.Contracts.Vms;
using Cluster.Vmm;
using Cluster.Vmm.Guests;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Loaders;
using Cluster.Vmm.Machine;

namespace Cluster.Actors.Runtime;

/// <summary>Creates <see cref="Machine"/>s on one hypervisor backend from VM specs.</summary>
public sealed class MachineGuestRuntimeFactory(IHypervisor hypervisor) : IGuestRuntimeFactory
{
    /// <inheritdoc />
    public IReadOnlySet<string> BuiltInImages { get; } = BuiltInGuests.Names.ToHashSet(StringComparer.Ordinal);

    /// <inheritdoc />
    public int MaxVcpus => Math.Min(hypervisor.MaxVcpus, GuestLayout.MaxVcpus);

    /// <summary>The least guest memory the VMM's layout accepts.</summary>
    public static ulong MinMemoryBytes => GuestLayout.MinMemoryBytes;

    /// <summary>The most guest memory the VMM's layout accepts.</summary>
    public static ulong MaxMemoryBytes => GuestLayout.MaxMemoryBytes;

    /// <inheritdoc />
    public IGuestRuntime Create(VmSpec spec) => new MachineGuestRuntime(Machine.Create(hypervisor, new MachineConfig
    {
        Vcpus = spec.Vcpus,
        MemoryBytes = spec.MemoryBytes,
        Image = spec.Image switch
        {
            BuiltInImage b => new BuiltInGuestImage(b.Name),
            ElfImage e => new ElfGuestImage(e.Path),
            LinuxImage l => new LinuxGuestImage(l.KernelPath, l.InitrdPath, l.CommandLine),
            _ => throw new VmmException($"unknown image kind {spec.Image.GetType().Name}", "machine-create"),
        },
        Args = spec.Args,
        Disks = DiskConfigs.Of(spec.Disks),
    }));
}
