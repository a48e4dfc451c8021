using Cluster.Vmm.Storage.Files;

namespace Cluster.Vmm.Storage;

/// <summary>Opens disk images: the one entry point the block device uses.</summary>
public static class DiskImage
{
    /// <summary>
    /// Opens <paramref name="path"/> as a disk. <paramref name="format"/> null probes the header (the
    /// qcow2 magic, else raw); naming a format forces it (a qcow2 file opened as raw on purpose is
    /// allowed). The file, and a qcow2 image's backing files, are locked the way QEMU locks them:
    /// for writing unless <paramref name="readOnly"/>, backing files for reading.
    /// </summary>
    /// <exception cref="VmmException">The file cannot be opened, is locked by another user, or is
    /// not a valid image of its format; the message names the file and the problem.</exception>
    public static IDiskImage Open(string path, DiskFormat? format, bool readOnly, DiskCacheMode cache)
    {
        var file = OpenFile(path, readOnly, cache);
        try
        {
            return Open(file, format, readOnly);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Probes the format of an image file from its first bytes.</summary>
    /// <exception cref="VmmException">The file cannot be opened.</exception>
    public static DiskFormat Probe(string path)
    {
        using var file = PosixImageFile.Open(path, readOnly: true, DiskCacheMode.Writeback);
        return Probe(file);
    }

    internal static DiskFormat Probe(IImageFile file)
    {
        Span<byte> magic = stackalloc byte[4];
        file.Read(0, magic);
        return file.Length >= 4 && magic.SequenceEqual(Qcow2Magic) ? DiskFormat.Qcow2 : DiskFormat.Raw;
    }

    private static ReadOnlySpan<byte> Qcow2Magic => [(byte)'Q', (byte)'F', (byte)'I', 0xFB];

    /// <summary>Opens and locks a host file.</summary>
    internal static IImageFile OpenFile(string path, bool readOnly, DiskCacheMode cache)
    {
        var file = PosixImageFile.Open(path, readOnly, cache);
        try
        {
            ImageLock.Acquire(file.Handle, path, write: !readOnly);
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Opens an image over an already open file (the file is owned by the image once this returns).</summary>
    internal static IDiskImage Open(IImageFile file, DiskFormat? format, bool readOnly)
    {
        var actual = format ?? Probe(file);
        return actual switch
        {
            DiskFormat.Raw => new RawDiskImage(file, readOnly),
            DiskFormat.Qcow2 => throw new VmmException($"{file.Path}: qcow2 images are not supported yet", "disk-open"),
            _ => throw new VmmException($"{file.Path}: unknown format {actual}", "disk-open"),
        };
    }
}
