using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Cluster.Vmm.Native;
using Cluster.Vmm.Storage.Files;

namespace Cluster.Vmm.Storage;

/// <summary>One open file of a disk: the path it was opened from (as the image or its parent names it), whether it was opened for writing, and the descriptor.</summary>
/// <param name="Path">The path: the disk's own for the top, the resolved backing file name below it.</param>
/// <param name="Writable">Opened read-write (only the top of a disk that is not read-only).</param>
/// <param name="Handle">The descriptor.</param>
public sealed record DiskFile(string Path, bool Writable, SafeFileHandle Handle);

/// <summary>
/// The open files of one disk: its image and the backing files below it, opened by the node and passed to a VMM worker
/// (SCM_RIGHTS), so that the worker needs no access to the paths. An image opened over such a table
/// (<see cref="DiskImage.Open(string, DiskFormat?, bool, DiskCacheMode, DiskFiles?)"/>) opens nothing by path: each file is a
/// duplicate of its descriptor (the same open file description, so image locks taken on it hold for the description),
/// and a path the table lacks is an error. The table keeps its descriptors until disposed, so an image can be closed and
/// opened again (a migration's handover); closing such an image releases its locks explicitly.
/// </summary>
public sealed class DiskFiles : IDisposable
{
    private readonly List<DiskFile> _files;

    /// <summary>A table of files already open (the worker's side: the descriptors it received); it owns them.</summary>
    public DiskFiles(IEnumerable<DiskFile> files) => _files = [.. files];

    /// <summary>The files, the top first.</summary>
    public IReadOnlyList<DiskFile> Files => _files;

    /// <summary>
    /// Opens the disk at <paramref name="path"/> (read-write unless <paramref name="readOnly"/>) and, unless
    /// <paramref name="format"/> is raw, every backing file of its chain read-only; takes no image locks (the image's user
    /// takes them on the descriptors). With <paramref name="images"/>, each file is checked against it before it is opened.
    /// </summary>
    /// <exception cref="VmmException">a file cannot be opened or is refused, or the chain cannot be read.</exception>
    public static DiskFiles Open(string path, DiskFormat? format, bool readOnly, ImageDirectories? images = null)
    {
        var files = new List<DiskFile>();
        try
        {
            files.Add(new DiskFile(path, !readOnly, OpenChecked(path, readOnly, images)));
            if (format != DiskFormat.Raw)
                foreach (var backing in DiskImage.Info(path).Chain().Skip(1))
                    files.Add(new DiskFile(backing.Path, false, OpenChecked(backing.Path, readOnly: true, images)));
            return new DiskFiles(files);
        }
        catch
        {
            foreach (var f in files) f.Handle.Dispose();
            throw;
        }
    }

    /// <summary>Whether <paramref name="path"/> is in the table.</summary>
    public bool Contains(string path) => _files.Any(f => f.Path == path);

    /// <summary>A new descriptor of the same open file as <paramref name="path"/>'s (owned by the caller).</summary>
    /// <exception cref="VmmException">the path is not in the table, or is wanted for writing and was opened read-only.</exception>
    internal SafeFileHandle Duplicate(string path, bool readOnly)
    {
        var file = _files.FirstOrDefault(f => f.Path == path)
            ?? throw new VmmException($"{path} was not passed to this process (it opens no disk file by path)", "disk-open");
        if (!readOnly && !file.Writable)
            throw new VmmException($"{path} was passed read-only and is wanted for writing", "disk-open");
        int fd = PosixImageFile.WithFd(file.Handle, fd => Libc.fcntl_int(fd, Libc.F_DUPFD_CLOEXEC, 0));
        if (fd < 0)
            throw new VmmException($"cannot duplicate the descriptor of {path} (errno {Marshal.GetLastPInvokeError()})", "disk-open", Marshal.GetLastPInvokeError());
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>Closes every descriptor (images opened over them keep their own duplicates).</summary>
    public void Dispose()
    {
        foreach (var f in _files) f.Handle.Dispose();
    }

    /// <summary>Opens <paramref name="path"/>, checked against <paramref name="images"/> (when given) before and after the open.</summary>
    private static SafeFileHandle OpenChecked(string path, bool readOnly, ImageDirectories? images)
    {
        images?.Check(path);
        var handle = OpenHandle(path, readOnly);
        try
        {
            images?.CheckOpened(handle, path);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static SafeFileHandle OpenHandle(string path, bool readOnly)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, readOnly ? FileAccess.Read : FileAccess.ReadWrite, FileShare.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VmmException($"cannot open {path}: {e.Message}", "disk-open");
        }
    }
}
