using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Cluster.Vmm.Native;
using Cluster.Vmm.Storage.Files;

namespace Cluster.Vmm.Storage;

/// <summary>
/// QEMU's image locking (block/file-posix.c), so that QEMU and this VMM see each other's use of an
/// image. A user takes a shared OFD lock (F_OFD_SETLK, F_RDLCK) on byte 100 + i for each permission
/// bit i it holds and on byte 200 + i for each permission it does not share with others; it then
/// tests (F_OFD_GETLK, F_WRLCK) byte 200 + i for each permission it wants (someone refuses to share
/// it) and byte 100 + i for each permission it refuses to share (someone holds it). The locks live
/// as long as the open file description, so they vanish when the process dies.
/// Permission bits, as QEMU numbers them: 0 consistent read, 1 write, 2 write unchanged, 3 resize.
/// A writer holds read and write and shares read and write-unchanged; a reader holds read and
/// shares everything but write.
/// </summary>
internal static class ImageLock
{
    /// <summary>Byte offset of "holds permission i".</summary>
    public const int PermBase = 100;
    /// <summary>Byte offset of "does not share permission i".</summary>
    public const int SharedBase = 200;

    private const int ConsistentRead = 1 << 0, Write = 1 << 1, WriteUnchanged = 1 << 2, Resize = 1 << 3, All = 0xf;
    private static readonly string[] Names = ["consistent read", "write", "write unchanged", "resize"];

    /// <summary>Tries before a conflict is reported, and the pause between tries.</summary>
    private const int Attempts = 20, PauseMs = 100;

    /// <summary>
    /// Locks the file for a reader or a writer; throws a VmmException naming the conflict. A conflict
    /// is retried for about 2 s: a process that forks (to start a child) while another of its
    /// threads closes an image keeps the image's open file, and its locks, in the child until that
    /// child execs.
    /// </summary>
    public static void Acquire(SafeFileHandle handle, string path, bool write)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                TryAcquire(handle, path, write);
                return;
            }
            catch (VmmException e) when (e.Operation == "disk-lock" && e.Errno == Libc.EAGAIN && attempt < Attempts)
            {
                Thread.Sleep(PauseMs);
            }
        }
    }

    /// <summary>Releases every lock byte this open file description holds (the bytes QEMU uses, 100 to 299).</summary>
    public static void Release(SafeFileHandle handle)
    {
        PosixImageFile.WithFd(handle, fd =>
        {
            var lk = new Libc.Flock { l_type = Libc.F_UNLCK, l_whence = Libc.SEEK_SET, l_start = PermBase, l_len = 2 * (SharedBase - PermBase) };
            return Libc.fcntl_lock(fd, Libc.F_OFD_SETLK, ref lk);
        });
    }

    private static void TryAcquire(SafeFileHandle handle, string path, bool write)
    {
        int perm = write ? ConsistentRead | Write : ConsistentRead;
        int shared = write ? ConsistentRead | WriteUnchanged : All & ~Write;
        PosixImageFile.WithFd(handle, fd =>
        {
            for (int i = 0; i < Names.Length; i++)
            {
                if ((perm & (1 << i)) != 0)
                    SetShared(fd, path, PermBase + i, Names[i]);
                if ((shared & (1 << i)) == 0)
                    SetShared(fd, path, SharedBase + i, Names[i]);
            }
            for (int i = 0; i < Names.Length; i++)
            {
                if ((perm & (1 << i)) != 0 && HeldByOthers(fd, SharedBase + i))
                    throw Conflict(path, $"Failed to get \"{Names[i]}\" lock: another process (QEMU or a VMM) has {path} open and does not share {Names[i]}");
                if ((shared & (1 << i)) == 0 && HeldByOthers(fd, PermBase + i))
                    throw Conflict(path, $"Failed to get shared \"{Names[i]}\" lock: another process (QEMU or a VMM) has {path} open for {Names[i]}");
            }
            return 0;
        });
    }

    private static VmmException Conflict(string path, string message) =>
        new($"{path} is in use: {message}", "disk-lock", Libc.EAGAIN);

    private static void SetShared(int fd, string path, int offset, string name)
    {
        var lk = new Libc.Flock { l_type = Libc.F_RDLCK, l_whence = Libc.SEEK_SET, l_start = offset, l_len = 1 };
        if (Libc.fcntl_lock(fd, Libc.F_OFD_SETLK, ref lk) == 0)
            return;
        int errno = Marshal.GetLastPInvokeError();
        if (errno is Libc.EAGAIN or Libc.EACCES)
            throw Conflict(path, $"Failed to lock byte {offset} (\"{name}\"): another process holds it exclusively");
        throw new VmmException($"cannot lock {path} (byte {offset}): errno {errno}", "disk-lock", errno);
    }

    private static bool HeldByOthers(int fd, int offset)
    {
        var lk = new Libc.Flock { l_type = Libc.F_WRLCK, l_whence = Libc.SEEK_SET, l_start = offset, l_len = 1 };
        if (Libc.fcntl_lock(fd, Libc.F_OFD_GETLK, ref lk) != 0)
            throw new VmmException($"cannot test lock byte {offset} (errno {Marshal.GetLastPInvokeError()})", "disk-lock", Marshal.GetLastPInvokeError());
        return lk.l_type != Libc.F_UNLCK;
    }
}
