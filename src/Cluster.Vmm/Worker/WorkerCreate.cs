using Cluster.Vmm.Machine;

namespace Cluster.Vmm.Worker;

/// <summary>
/// The VM a worker is to run: its identity (<paramref name="VmId"/>, <paramref name="Epoch"/> of ownership),
/// the machine (vCPUs, memory, image, arguments, disks by path) and its run permit.
/// </summary>
/// <param name="VmId">The VM's id in the cluster.</param>
/// <param name="Epoch">The ownership epoch the node holds for it.</param>
/// <param name="Machine">The machine to create.</param>
public sealed record WorkerCreate(string VmId, long Epoch, MachineConfig Machine)
{
    /// <summary>Whether the guest runs only under a run permit (<see cref="InitialPermit"/>, then RenewPermit).
    /// False: no enforcement until the first RenewPermit.</summary>
    public bool PermitRequired { get; init; } = true;

    /// <summary>How long the permit given with Create is valid, from Create.</summary>
    public TimeSpan InitialPermit { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>/dev/kvm opened by the node, for a worker started with <c>--backend kvm-passed</c> (<see cref="PassedKvm"/>);
    /// it travels as a descriptor (protocol version 2). The caller owns it.</summary>
    public Microsoft.Win32.SafeHandles.SafeFileHandle? Kvm { get; init; }
}
