using System.Net;
using Cluster.Contracts.Vms;
using Cluster.Vmm;

namespace Cluster.Actors.Runtime;

/// <summary>Creates guests from specs; the node picks the implementation (the VMM's Machine).</summary>
public interface IGuestRuntimeFactory
{
    /// <summary>Names of the built-in guest images this factory can boot.</summary>
    IReadOnlySet<string> BuiltInImages { get; }

    /// <summary>The most vCPUs one guest may have on this backend.</summary>
    int MaxVcpus { get; }

    /// <summary>Creates and loads a guest (not started).</summary>
    /// <exception cref="Cluster.Vmm.VmmException">the image cannot be loaded or the VM created.</exception>
    IGuestRuntime Create(VmSpec spec);

    /// <summary>Creates and loads a guest (not started) owned with fencing epoch <paramref name="epoch"/> (a worker records it, so a restarted node knows which incarnation runs).</summary>
    IGuestRuntime Create(VmSpec spec, long epoch) => Create(spec);

    /// <summary>
    /// Listens for an incoming live migration of <paramref name="spec"/> (see <see cref="IncomingListen"/>); the
    /// guest is created when the source's hello arrives and runs once the source lets it resume.
    /// </summary>
    /// <exception cref="VmmException">this backend cannot receive migrations, or the listener cannot be opened.</exception>
    IncomingGuest ListenIncoming(VmSpec spec, IncomingListen listen) =>
        throw new VmmException("this backend cannot receive live migrations", "migration-target");

    /// <summary>
    /// A guest of <paramref name="vmId"/> that still runs on this host from an earlier incarnation of this node (its
    /// VMM worker outlived the node), re-attached; null when there is none.
    /// </summary>
    ReattachedGuest? Reattach(string vmId) => null;
}
