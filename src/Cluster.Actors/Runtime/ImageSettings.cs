using Akka.Configuration;
using Cluster.Vmm.Storage;

namespace Cluster.Actors.Runtime;

/// <summary>
/// The directories a host takes VM files from (images, kernels, initrds, disks): the data directory's <c>images</c> folder
/// and the ones listed in <c>cluster-hypervisor.images.allowed-dirs</c>.
/// </summary>
public static class ImageSettings
{
    /// <summary>The HOCON path of the extra directories.</summary>
    public const string AllowedDirs = "cluster-hypervisor.images.allowed-dirs";

    /// <summary>The image directories of a node with data directory <paramref name="dataDirectory"/>.</summary>
    public static ImageDirectories From(Config config, string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(config);
        var extra = config.HasPath(AllowedDirs) ? config.GetStringList(AllowedDirs) : [];
        return new ImageDirectories([Path.Combine(dataDirectory, "images"), .. extra.Where(d => d.Length > 0)]);
    }
}
