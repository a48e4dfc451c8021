using System.Runtime.InteropServices;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Native;
using Cluster.Vmm.Storage.Files;
using Microsoft.Win32.SafeHandles;

namespace Cluster.Vmm.Storage;

/// <summary>
/// The directories a host takes the files of its VMs from (guest images, kernels, initrds, disks and their backing
/// files): a path is accepted when its real path (symlinks resolved, <c>realpath(3)</c>) lies under one of them and the
/// file, opened without following a link and without blocking, is a regular file or a block device by <c>fstat</c> on the
/// open descriptor (FIFOs, character devices such as /dev/zero, directories and sockets are refused). Each refusal is a
/// <see cref="VmmException"/> (operation <see cref="Operation"/>) naming the path and the reason. Built-in guests are
/// not paths and are always accepted.
/// </summary>
public sealed class ImageDirectories
{
    /// <summary>The operation named by refusals.</summary>
    public const string Operation = "image-path";

    private readonly string[] _directories;

    /// <summary>Accepts paths under <paramref name="directories"/> (made absolute; resolved at each check, so they may appear later).</summary>
    /// <exception cref="ArgumentException">no directory given.</exception>
    public ImageDirectories(IEnumerable<string> directories)
    {
        _directories = [.. directories.Select(d => Path.TrimEndingDirectorySeparator(Path.GetFullPath(d))).Distinct(StringComparer.Ordinal)];
        if (_directories.Length == 0) throw new ArgumentException("at least one image directory is needed", nameof(directories));
    }

    /// <summary>The directories, as configured (absolute).</summary>
    public IReadOnlyList<string> Directories => _directories;

    /// <summary>Checks every file path of <paramref name="config"/>: its image's and its disks'.</summary>
    /// <exception cref="VmmException">a path is refused.</exception>
    public void Check(MachineConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        switch (config.Image)
        {
            case ElfGuestImage elf:
                Check(elf.Path);
                break;
            case FlatGuestImage flat:
                Check(flat.Path);
                break;
            case LinuxGuestImage linux:
                Check(linux.KernelPath);
                if (linux.InitrdPath is { } initrd) Check(initrd);
                break;
        }
        foreach (var disk in config.Disks) Check(disk.Path);
    }

    /// <summary>Checks one path; returns its real path.</summary>
    /// <exception cref="VmmException">the path is refused: the message names it and says why.</exception>
    public string Check(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!Path.IsPathFullyQualified(path)) throw Refused(path, "it is not an absolute path");
        string real = RealPath(path) ?? throw Refused(path, Reason(Marshal.GetLastPInvokeError()));
        if (!_directories.Any(d => Under(real, RealPath(d) ?? d)))
        {
            string where = real == path ? "it is" : $"it resolves to {real}, which is";
            throw Refused(path, $"{where} outside the allowed image directories ({string.Join(", ", _directories)}; cluster-hypervisor.images.allowed-dirs)");
        }
        // Without blocking (a FIFO would wait for a writer), without becoming a controlling terminal, and not through a
        // link swapped in since realpath.
        int fd = Libc.open(real, Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_NOCTTY | Libc.O_CLOEXEC | Libc.O_NOFOLLOW, 0);
        if (fd < 0) throw Refused(path, Reason(Marshal.GetLastPInvokeError()));
        try
        {
            uint type = FileType(fd, path);
            if (type is not (Libc.S_IFREG or Libc.S_IFBLK))
                throw Refused(path, $"it is {Describe(type)}, not a regular file or a block device");
        }
        finally
        {
            Libc.close(fd);
        }
        return real;
    }

    /// <summary>
    /// Checks a descriptor opened from <paramref name="path"/> after <see cref="Check(string)"/>: the file it is open on
    /// (its <c>/proc/self/fd</c> link) must lie under an allowed directory and be a regular file or a block device, so a
    /// path swapped for a link or a device between the check and the open is caught.
    /// </summary>
    /// <exception cref="VmmException">the open file is refused.</exception>
    public void CheckOpened(SafeFileHandle handle, string path)
    {
        ArgumentNullException.ThrowIfNull(handle);
        var (real, type) = PosixImageFile.WithFd(handle, fd => (new FileInfo($"/proc/self/fd/{fd}").LinkTarget, FileType(fd, path)));
        if (real is null || !_directories.Any(d => Under(real, RealPath(d) ?? d)))
            throw Refused(path, $"the file opened is {real ?? "unknown"}, outside the allowed image directories ({string.Join(", ", _directories)})");
        if (type is not (Libc.S_IFREG or Libc.S_IFBLK))
            throw Refused(path, $"the file opened is {Describe(type)}, not a regular file or a block device");
    }

    private static bool Under(string path, string directory) =>
        directory == "/" || path.StartsWith(directory + "/", StringComparison.Ordinal);

    private static VmmException Refused(string path, string reason) => new($"image path {path} refused: {reason}", Operation);

    private static string? RealPath(string path)
    {
        nint p = Libc.realpath(path, 0);
        if (p == 0) return null;
        try
        {
            return Marshal.PtrToStringUTF8(p);
        }
        finally
        {
            unsafe
            {
                // SAFETY: p was allocated by realpath with malloc and is freed once, here; NativeMemory.Free is free(3) on Unix.
                NativeMemory.Free((void*)p);
            }
        }
    }

    private static unsafe uint FileType(int fd, string path)
    {
        byte* buf = stackalloc byte[Libc.StatBufferSize];
        // SAFETY: buf has the size fstat writes (Libc.StatBufferSize); fd is open until the caller closes it.
        if (Libc.fstat(fd, buf) != 0) throw Refused(path, $"fstat failed (errno {Marshal.GetLastPInvokeError()})");
        // SAFETY: st_mode is a 32-bit field at StatModeOffset, inside the buffer.
        return *(uint*)(buf + Libc.StatModeOffset) & Libc.S_IFMT;
    }

    private static string Describe(uint type) => type switch
    {
        Libc.S_IFIFO => "a FIFO",
        Libc.S_IFCHR => "a character device",
        Libc.S_IFDIR => "a directory",
        Libc.S_IFSOCK => "a socket",
        Libc.S_IFLNK => "a symbolic link",
        _ => $"a file of type 0x{type:x}",
    };

    private static string Reason(int errno) => errno switch
    {
        Libc.ENOENT => "no such file",
        Libc.EACCES => "permission denied",
        Libc.ENOTDIR => "a component of it is not a directory",
        Libc.ELOOP => "too many symbolic links",
        Libc.ENXIO => "it is a socket (or a device with nothing behind it), not a regular file or a block device",
        _ => $"it cannot be opened (errno {errno})",
    };
}
