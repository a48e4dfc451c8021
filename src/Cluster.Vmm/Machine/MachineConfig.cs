namespace Cluster.Vmm.Machine;

/// <summary>The shape of a machine: vCPUs, memory, the image it boots, the guest's arguments and its disks and NICs.</summary>
public sealed record MachineConfig
{
    /// <summary>Number of vCPUs, all started at the image's entry.</summary>
    public int Vcpus { get; init; } = 1;

    /// <summary>Guest memory in bytes, one slot at guest-physical 0; a multiple of 4 KiB, at least 2 MiB.</summary>
    public ulong MemoryBytes { get; init; } = 64UL << 20;

    /// <summary>What to boot.</summary>
    public required GuestImage Image { get; init; }

    /// <summary>Arguments given to the guest (argc/argv, see Loaders/BootArguments.cs).</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>Disks, each a virtio-blk device on the PCI bus, in the order the guest enumerates them.</summary>
    public IReadOnlyList<DiskConfig> Disks { get; init; } = [];

    /// <summary>Network interfaces, each a virtio-net device on the PCI bus (after the disks), in the order the guest enumerates them.</summary>
    public IReadOnlyList<NicConfig> Nics { get; init; } = [];

    /// <summary>The machine is the target of an incoming migration: its disks are only checked to
    /// exist, and opened when the migration hands them over (<see cref="Devices.DeviceManager.ActivateDisks"/>).</summary>
    public bool IncomingMigration { get; init; }
}
