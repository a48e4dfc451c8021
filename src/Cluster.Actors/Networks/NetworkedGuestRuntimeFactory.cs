using Cluster.Actors.Runtime;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Networks;

/// <summary>
/// A node's guest factory with networks: before a guest with NICs is created (a boot, or an incoming migration) it has
/// <see cref="HostNetworking"/> set up their host networks and taps; everything else goes to the inner factory, which
/// gives the machine a virtio-net device per NIC on its tap (<see cref="MachineGuestRuntimeFactory.Config"/>). A guest
/// with NICs created here takes its taps with it when it stops or migrates away (<see cref="NetworkedGuest"/>).
/// </summary>
public sealed class NetworkedGuestRuntimeFactory(IGuestRuntimeFactory inner, HostNetworking host) : IGuestRuntimeFactory, IDisposable
{
    public IReadOnlySet<string> BuiltInImages => inner.BuiltInImages;

    public int MaxVcpus => inner.MaxVcpus;

    public IGuestRuntime Create(VmSpec spec)
    {
        Prepare(spec);
        return Wrapped(spec, inner.Create(spec));
    }

    public IGuestRuntime Create(VmSpec spec, long epoch)
    {
        Prepare(spec);
        return Wrapped(spec, inner.Create(spec, epoch));
    }

    /// <summary>A guest with NICs whose taps go with it when it ends here (<see cref="NetworkedGuest"/>).</summary>
    private IGuestRuntime Wrapped(VmSpec spec, IGuestRuntime guest) => spec.Nics.Count == 0 ? guest : new NetworkedGuest(guest, host, spec.Id);

    public IncomingGuest ListenIncoming(VmSpec spec, IncomingListen listen)
    {
        Prepare(spec);
        return inner.ListenIncoming(spec, listen);
    }

    /// <summary>A guest an earlier incarnation of this node left running: wrapped too, so that its taps go when it ends.</summary>
    public ReattachedGuest? Reattach(string vmId) =>
        inner.Reattach(vmId) is { } found ? found with { Guest = new NetworkedGuest(found.Guest, host, vmId) } : null;

    private void Prepare(VmSpec spec) => host.Prepare(spec);

    public void Dispose() => (inner as IDisposable)?.Dispose();
}
