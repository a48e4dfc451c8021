using Cluster.Vmm.Storage.Files;
using Cluster.Vmm.Storage.Qcow2;

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
    public static IDiskImage Open(string path, DiskFormat? format, bool readOnly, DiskCacheMode cache) =>
        Open(path, format, readOnly, cache, null);

    /// <summary>
    /// As <see cref="Open(string, DiskFormat?, bool, DiskCacheMode)"/>, over the descriptors of <paramref name="files"/> when
    /// given: the image and its backing files are then duplicates of the table's descriptors, found by path, and no file
    /// is opened by path.
    /// </summary>
    /// <exception cref="VmmException">as the other overload; or a file of the chain is not in <paramref name="files"/>.</exception>
    public static IDiskImage Open(string path, DiskFormat? format, bool readOnly, DiskCacheMode cache, DiskFiles? files)
    {
        var file = OpenFile(path, readOnly, cache, files: files);
        try
        {
            return Open(file, format, readOnly, cache, BackingChain.Start(file, files: files));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates (or overwrites) an empty image of <paramref name="size"/> bytes: a sparse raw file, or a
    /// qcow2 version 3 image, optionally over a backing file (then <paramref name="size"/> null takes
    /// the backing file's size). The file is locked for writing while it is written.
    /// </summary>
    /// <exception cref="VmmException">Bad options, a backing file that cannot be opened, or a file
    /// that cannot be written or is in use.</exception>
    public static void Create(string path, DiskFormat format, ulong? size, DiskCreateOptions? options = null)
    {
        options ??= new DiskCreateOptions();
        int cs = options.ClusterSize;
        if (format == DiskFormat.Qcow2 && (cs < 512 || cs > 2 << 20 || (cs & (cs - 1)) != 0))
            throw new VmmException($"cluster size {cs} is not a power of two from 512 to 2097152", "disk-create");
        if (format == DiskFormat.Raw && options.BackingFile is not null)
            throw new VmmException("a raw image cannot have a backing file (use qcow2)", "disk-create");
        DiskFormat? backingFormat = options.BackingFormat;
        if (options.BackingFile is { } backing)
        {
            string resolved = System.IO.Path.IsPathRooted(backing)
                ? backing
                : System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) ?? "/", backing);
            using var image = Open(resolved, backingFormat, readOnly: true, DiskCacheMode.Writeback);
            backingFormat = image.Format;
            size ??= image.VirtualSize;
        }
        if (size is not { } bytes)
            throw new VmmException("no size given (and no backing file to take it from)", "disk-create");
        bytes = (bytes + 511) & ~511UL;
        using var file = PosixImageFile.OpenOrCreate(path);
        ImageLock.Acquire(file.Handle, path, write: true);
        if (format == DiskFormat.Raw)
        {
            file.SetLength(0);
            file.SetLength((long)bytes);
            file.Sync();
        }
        else
        {
            Qcow2Creator.Write(file, bytes, System.Numerics.BitOperations.Log2((uint)cs), options.BackingFile, backingFormat);
        }
    }

    /// <summary>Describes an image and its backing chain, opened read-only without taking image locks
    /// (as qemu-img info does), so that images in use by a VM can be described.</summary>
    /// <exception cref="VmmException">The image cannot be opened.</exception>
    public static DiskImageInfo Info(string path)
    {
        var file = OpenFile(path, readOnly: true, DiskCacheMode.Writeback, locked: false);
        IDiskImage image;
        try
        {
            image = Open(file, null, readOnly: true, DiskCacheMode.Writeback, BackingChain.Start(file, locked: false));
        }
        catch
        {
            file.Dispose();
            throw;
        }
        using (image)
            return Describe(image);
    }

    private static DiskImageInfo Describe(IDiskImage image)
    {
        var file = ((IFileImage)image).File;
        var qcow2 = image as Qcow2Image;
        return new DiskImageInfo(image.Path, image.Format, image.VirtualSize, file.Length, file.AllocatedBytes,
            qcow2 is null ? null : (int)qcow2.Header.ClusterSize, qcow2?.Header.BackingFile,
            qcow2?.Snapshots.Select(s => s.Name).ToArray() ?? [], qcow2?.Backing is { } b ? Describe(b) : null);
    }

    /// <summary>Checks a qcow2 image's refcounts against a recount of every reference (as qemu-img check does).</summary>
    /// <exception cref="VmmException">The file cannot be opened, is raw (nothing to check) or its header is unusable.</exception>
    public static DiskCheckReport Check(string path)
    {
        using var file = OpenFile(path, readOnly: true, DiskCacheMode.Writeback);
        if (Probe(file) != DiskFormat.Qcow2)
            throw new VmmException($"{path}: raw images have no metadata to check", "disk-check");
        return Qcow2Checker.Check(file);
    }

    /// <summary>Copies <paramref name="input"/> (any format, its backing chain flattened) into a new
    /// image <paramref name="output"/> of format <paramref name="to"/>, leaving all-zero areas
    /// unallocated; <paramref name="progress"/> hears of each megabyte copied.</summary>
    /// <exception cref="VmmException">Either image cannot be opened or written.</exception>
    public static void Convert(string input, string output, DiskFormat to, DiskCreateOptions? options = null,
        IProgress<(ulong Done, ulong Total)>? progress = null) =>
        DiskConverter.Convert(input, output, to, options, progress);

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
        return file.Length >= 4 && Qcow2Header.HasMagic(magic) ? DiskFormat.Qcow2 : DiskFormat.Raw;
    }

    /// <summary>Opens a host file (by path, or as a duplicate from <paramref name="files"/>) and, unless
    /// <paramref name="locked"/> is false, locks it.</summary>
    internal static IImageFile OpenFile(string path, bool readOnly, DiskCacheMode cache, bool locked = true, DiskFiles? files = null)
    {
        var file = files is null ? PosixImageFile.Open(path, readOnly, cache) : PosixImageFile.FromDuplicate(path, files.Duplicate(path, readOnly), cache);
        try
        {
            if (locked)
            {
                ImageLock.Acquire(file.Handle, path, write: !readOnly);
                if (files is not null) file.ReleaseLocksOnDispose();
            }
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Opens an image over an already open file (the file is owned by the image once this returns).</summary>
    internal static IDiskImage Open(IImageFile file, DiskFormat? format, bool readOnly, DiskCacheMode cache, BackingChain chain)
    {
        var actual = format ?? Probe(file);
        return actual switch
        {
            DiskFormat.Raw => new RawDiskImage(file, readOnly),
            DiskFormat.Qcow2 => Qcow2Image.Open(file, readOnly, cache, chain),
            _ => throw new VmmException($"{file.Path}: unknown format {actual}", "disk-open"),
        };
    }
}
