using System.Runtime.InteropServices;

namespace Cluster.Vmm.Native;

/// <summary>The few libc calls the VMM needs that .NET does not wrap.</summary>
internal static partial class Libc
{
    public const int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    public const int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000;
    public const int MADV_DONTNEED = 4, MADV_HUGEPAGE = 14;
    public static readonly IntPtr MAP_FAILED = new(-1);

    public const int EINVAL = 22, EOPNOTSUPP = 95, EAGAIN = 11, EACCES = 13;
    public const int ENOENT = 2, EBUSY = 16, EEXIST = 17, ENOTEMPTY = 39, EROFS = 30;
    public const int W_OK = 2;
    public const int F_GETFL = 3, F_SETFL = 4, F_DUPFD_CLOEXEC = 1030, F_OFD_GETLK = 36, F_OFD_SETLK = 37;
    public const short F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2;
    public const short SEEK_SET = 0;
    /// <summary>O_DIRECT on x86-64 (asm-generic; arm64 uses 0x10000).</summary>
    public static int O_DIRECT => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x10000 : 0x4000;
    public const int FALLOC_FL_KEEP_SIZE = 0x01, FALLOC_FL_PUNCH_HOLE = 0x02, FALLOC_FL_ZERO_RANGE = 0x10;

    /// <summary>struct flock as the kernel lays it out on 64-bit Linux.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Flock
    {
        public short l_type;
        public short l_whence;
        public long l_start;
        public long l_len;
        public int l_pid;
    }

    // SAFETY: plain libc mmap; callers check for MAP_FAILED and own the returned mapping.
    [LibraryImport("libc", SetLastError = true)]
    public static partial IntPtr mmap(IntPtr addr, nuint length, int prot, int flags, int fd, long offset);

    // SAFETY: unmaps a mapping this process created with mmap; called once per mapping by its owner.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int munmap(IntPtr addr, nuint length);

    // SAFETY: advice on a mapping the caller owns; MADV_DONTNEED on anonymous memory zero-fills the range.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int madvise(IntPtr addr, nuint length, int advice);

    // SAFETY: fcntl with an integer argument (F_GETFL/F_SETFL) on an fd the caller keeps open (a
    // SafeFileHandle with a reference held); the variadic third argument is passed in a register on
    // the 64-bit Linux ABIs, as an int.
    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int fcntl_int(int fd, int cmd, int arg);

    // SAFETY: fcntl with a pointer to a struct flock (F_OFD_GETLK/F_OFD_SETLK) the marshaller pins
    // for the call; the kernel reads it and, for GETLK, writes it back; the fd is kept open by the caller.
    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int fcntl_lock(int fd, int cmd, ref Flock lk);

    // SAFETY: fdatasync on an fd the caller keeps open; no memory is passed.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int fdatasync(int fd);

    // SAFETY: fallocate on an fd the caller keeps open; no memory is passed.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int fallocate(int fd, int mode, long offset, long len);

    // SAFETY: access on a path the marshaller passes as a NUL-terminated UTF-8 copy; no memory is kept.
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int access(string path, int mode);

    // SAFETY: rmdir on a path the marshaller passes as a NUL-terminated UTF-8 copy; no memory is kept.
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rmdir(string path);

    // SAFETY: write from a caller-pinned buffer of at least count bytes on an fd the caller keeps open.
    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint write(int fd, byte* buf, nuint count);

    // SAFETY: fstat into a caller-owned buffer of 144 bytes (sizeof(struct stat) on x86-64 and
    // arm64, the largest of the two); the fd is kept open by the caller.
    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int fstat(int fd, byte* buf);

    /// <summary>The size of the buffer <see cref="fstat"/> is given.</summary>
    public const int StatBufferSize = 144;
    /// <summary>Offsets in struct stat shared by x86-64 and arm64: st_dev, st_ino, st_blocks.</summary>
    public const int StatDevOffset = 0, StatInoOffset = 8, StatBlocksOffset = 64;

    // SAFETY: getuid takes nothing and cannot fail.
    [LibraryImport("libc")]
    public static partial uint getuid();

    // SAFETY: setsid takes nothing; it fails with EPERM (errno kept) when the caller leads a process group.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int setsid();

    // SAFETY: open on a path the marshaller passes as a NUL-terminated UTF-8 copy; the caller owns (and closes) the fd returned.
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, int mode);

    // SAFETY: dup2 of an fd the caller holds onto a standard stream number; no memory is passed.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int dup2(int oldfd, int newfd);

    // SAFETY: closes an fd the caller owns and no longer uses.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    /// <summary>open(2) flags used here.</summary>
    public const int O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0x40, O_NOCTTY = 0x100, O_APPEND = 0x400, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;

    /// <summary>O_NOFOLLOW (x86-64 value; arm64 uses 0x8000).</summary>
    public static int O_NOFOLLOW => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x8000 : 0x20000;

    /// <summary>errno values named in messages about paths.</summary>
    public const int ENXIO = 6, ENOTDIR = 20, ELOOP = 40;

    /// <summary>The offset of st_mode in struct stat: 24 on x86-64, 16 on arm64.</summary>
    public static int StatModeOffset => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 16 : 24;

    /// <summary>File type bits of st_mode.</summary>
    public const uint S_IFMT = 0xF000, S_IFIFO = 0x1000, S_IFCHR = 0x2000, S_IFDIR = 0x4000, S_IFBLK = 0x6000, S_IFREG = 0x8000,
        S_IFLNK = 0xA000, S_IFSOCK = 0xC000;

    // SAFETY: realpath with a null buffer allocates the result with malloc; the caller frees it with free
    // (NativeMemory.Free calls free on Unix). The path is a NUL-terminated UTF-8 copy made by the marshaller.
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint realpath(string path, nint resolved);
}
