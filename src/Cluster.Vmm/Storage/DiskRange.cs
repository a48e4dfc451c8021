namespace Cluster.Vmm.Storage;

/// <summary>The checks every image makes on a request before touching its file.</summary>
internal static class DiskRange
{
    public const ulong Sector = 512;

    /// <summary>Throws a "disk-io" VmmException unless the range is whole sectors inside the disk
    /// and, for a change, the image is writable.</summary>
    public static void Check(IDiskImage image, ulong offset, ulong length, bool write)
    {
        if (write && image.ReadOnly)
            throw new VmmException($"{image.Path} is open read-only", "disk-io");
        if (offset % Sector != 0 || length % Sector != 0)
            throw new VmmException($"{image.Path}: request at {offset} of {length} bytes is not in whole 512-byte sectors", "disk-io");
        if (offset > image.VirtualSize || length > image.VirtualSize - offset)
            throw new VmmException($"{image.Path}: request at {offset} of {length} bytes ends past the disk's {image.VirtualSize} bytes", "disk-io");
    }
}
