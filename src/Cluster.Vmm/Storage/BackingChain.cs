using Cluster.Vmm.Storage.Files;

namespace Cluster.Vmm.Storage;

/// <summary>
/// The files opened so far along a backing chain, to open the next backing file and refuse a
/// chain that loops (the same file, by device and inode, twice). Backing files are opened
/// read-only and locked as a reader, relative names resolved against the directory of the image
/// that names them, as QEMU does.
/// </summary>
internal sealed class BackingChain
{
    private readonly IReadOnlyList<(FileIdentity Id, string Path)> _files;
    private readonly bool _locked;
    private readonly DiskFiles? _passed;

    private BackingChain(IReadOnlyList<(FileIdentity, string)> files, bool locked, DiskFiles? passed)
    {
        _files = files;
        _locked = locked;
        _passed = passed;
    }

    /// <summary>A chain whose top is <paramref name="top"/>; <paramref name="locked"/> false opens
    /// the backing files without image locks (to inspect images in use, as qemu-img info does); <paramref name="files"/>
    /// given, backing files are duplicates of its descriptors, never opened by path.</summary>
    public static BackingChain Start(IImageFile top, bool locked = true, DiskFiles? files = null) =>
        new([(top.Identity, top.Path)], locked, files);

    /// <summary>Opens the backing file <paramref name="name"/> named by <paramref name="ownerPath"/>.</summary>
    public IDiskImage OpenBacking(string ownerPath, string name, string? format, DiskCacheMode cache)
    {
        string resolved = System.IO.Path.IsPathRooted(name)
            ? name
            : System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(ownerPath)) ?? "/", name);
        DiskFormat? backingFormat = format switch
        {
            null or "" => null,
            "raw" => DiskFormat.Raw,
            "qcow2" => DiskFormat.Qcow2,
            _ => throw new VmmException($"{ownerPath}: backing file '{name}' has format '{format}', which is not supported (raw and qcow2 are)", "disk-open"),
        };
        if (_passed is not null ? !_passed.Contains(resolved) : !File.Exists(resolved))
            throw new VmmException(_passed is null
                ? $"{ownerPath}: backing file '{name}' (resolved to {resolved}) does not exist"
                : $"{ownerPath}: backing file '{name}' (resolved to {resolved}) was not passed to this process", "disk-open");
        var file = DiskImage.OpenFile(resolved, readOnly: true, cache, _locked, _passed);
        try
        {
            var id = file.Identity;
            if (_files.Any(f => f.Id == id))
            {
                string loop = string.Join(" -> ", _files.Select(f => f.Path).Append(resolved));
                throw new VmmException($"{ownerPath}: the backing chain loops: {loop}", "disk-open");
            }
            var next = new BackingChain([.. _files, (id, resolved)], _locked, _passed);
            return DiskImage.Open(file, backingFormat, readOnly: true, cache, next);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }
}
