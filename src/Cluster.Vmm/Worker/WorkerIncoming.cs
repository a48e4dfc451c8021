using Cluster.Vmm.Machine;

namespace Cluster.Vmm.Worker;

/// <summary>
/// An incoming migration a worker is to wait for: the VM's identity and the machine the node reserved (the
/// worker creates exactly this machine, and refuses a source whose Hello describes another), where to listen,
/// whether the stream is encrypted, and the run permit of the VM once it runs here.
/// </summary>
/// <param name="VmId">The VM's id in the cluster.</param>
/// <param name="Epoch">The ownership epoch the node will hold.</param>
/// <param name="Machine">The machine the node expects (vCPUs, memory, disks).</param>
public sealed record WorkerIncoming(string VmId, long Epoch, MachineConfig Machine)
{
    /// <summary>The address to listen on.</summary>
    public string BindHost { get; init; } = "127.0.0.1";
    /// <summary>The port; 0 for any free one (the reply names it).</summary>
    public int Port { get; init; }
    /// <summary>The limit on each blocking send or receive once the source has connected.</summary>
    public TimeSpan IoTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Whether the page stream is TLS (the default); false only for benchmark comparisons (token in the clear).</summary>
    public bool Encrypted { get; init; } = true;
    /// <summary>See <see cref="WorkerCreate.PermitRequired"/>.</summary>
    public bool PermitRequired { get; init; } = true;
    /// <summary>The run permit's validity from the moment the VM runs here.</summary>
    public TimeSpan InitialPermit { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>See <see cref="WorkerCreate.Kvm"/>.</summary>
    public Microsoft.Win32.SafeHandles.SafeFileHandle? Kvm { get; init; }
}
