using Cluster.Vmm.Machine;
using Cluster.Vmm.Storage;

namespace Cluster.Vmm.Worker;

/// <summary>
/// The node's side of passing disks to a worker: every disk of a machine opened here (read-only disks read-only) with its
/// backing chain (<see cref="DiskFiles.Open"/>), and the machine's config carrying them, for <see cref="WorkerClient.Create"/>
/// or <see cref="WorkerClient.ListenIncoming"/>, which send the descriptors with the request. The worker holds its own
/// copies once the request returns: dispose this then. Image locks are taken by the worker on the open files it received.
/// </summary>
public sealed class PassedDisks : IDisposable
{
    private readonly List<DiskFiles> _opened;

    private PassedDisks(MachineConfig config, List<DiskFiles> opened)
    {
        Config = config;
        _opened = opened;
    }

    /// <summary>The machine, each disk with its <see cref="DiskConfig.Files"/>.</summary>
    public MachineConfig Config { get; }

    /// <summary>Opens the disks of <paramref name="config"/>, each file checked against <paramref name="images"/> when given.</summary>
    /// <exception cref="VmmException">a disk or a backing file cannot be opened or is refused (what is open is closed again).</exception>
    public static PassedDisks Open(MachineConfig config, ImageDirectories? images = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var opened = new List<DiskFiles>();
        try
        {
            var disks = new List<DiskConfig>();
            foreach (var d in config.Disks)
            {
                var files = DiskFiles.Open(d.Path, d.Format, d.ReadOnly, images);
                opened.Add(files);
                disks.Add(d with { Files = files });
            }
            return new PassedDisks(config with { Disks = disks }, opened);
        }
        catch
        {
            foreach (var f in opened) f.Dispose();
            throw;
        }
    }

    /// <summary>Closes this side's descriptors.</summary>
    public void Dispose()
    {
        foreach (var f in _opened) f.Dispose();
    }
}
