using System.Runtime.InteropServices;

namespace Cluster.Vmm.Native;

/// <summary>
/// userfaultfd(2) as linux/userfaultfd.h defines it on x86-64: the syscall, the UFFDIO_* ioctls
/// (request numbers as _IOWR/_IOR(0xAA, nr, struct)) and their structs, with the kernel's names.
/// </summary>
internal static unsafe partial class UserfaultfdNative
{
    /// <summary>__NR_userfaultfd on x86-64.</summary>
    public const long SYS_userfaultfd = 323;

    public const int O_CLOEXEC = 0x80000, O_NONBLOCK = 0x800;
    public const ulong UFFD_API = 0xAA;
    public const ulong UFFDIO_REGISTER_MODE_MISSING = 1;
    public const byte UFFD_EVENT_PAGEFAULT = 0x12;
    public const int EEXIST = 17, EAGAIN = 11, EINTR = 4;
    public const short POLLIN = 1;

    /// <summary>_IOWR(0xAA, 0x3F, struct uffdio_api).</summary>
    public const nuint UFFDIO_API = 0xC018AA3F;
    /// <summary>_IOWR(0xAA, 0x00, struct uffdio_register).</summary>
    public const nuint UFFDIO_REGISTER = 0xC020AA00;
    /// <summary>_IOR(0xAA, 0x01, struct uffdio_range).</summary>
    public const nuint UFFDIO_UNREGISTER = 0x8010AA01;
    /// <summary>_IOR(0xAA, 0x02, struct uffdio_range).</summary>
    public const nuint UFFDIO_WAKE = 0x8010AA02;
    /// <summary>_IOWR(0xAA, 0x03, struct uffdio_copy).</summary>
    public const nuint UFFDIO_COPY = 0xC028AA03;
    /// <summary>_IOWR(0xAA, 0x04, struct uffdio_zeropage).</summary>
    public const nuint UFFDIO_ZEROPAGE = 0xC020AA04;

    [StructLayout(LayoutKind.Sequential)]
    public struct uffdio_api { public ulong api; public ulong features; public ulong ioctls; }

    [StructLayout(LayoutKind.Sequential)]
    public struct uffdio_range { public ulong start; public ulong len; }

    [StructLayout(LayoutKind.Sequential)]
    public struct uffdio_register { public uffdio_range range; public ulong mode; public ulong ioctls; }

    [StructLayout(LayoutKind.Sequential)]
    public struct uffdio_copy { public ulong dst; public ulong src; public ulong len; public ulong mode; public long copy; }

    [StructLayout(LayoutKind.Sequential)]
    public struct uffdio_zeropage { public uffdio_range range; public ulong mode; public long zeropage; }

    /// <summary>struct uffd_msg (32 bytes) read as its page-fault member: event, then flags and address at 8 and 16.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct uffd_msg { public byte @event; public byte reserved1; public ushort reserved2; public uint reserved3; public ulong flags; public ulong address; public ulong ptid; }

    [StructLayout(LayoutKind.Sequential)]
    public struct pollfd_t { public int fd; public short events; public short revents; }

    // SAFETY: the raw syscall(2) entry with integer arguments only (userfaultfd takes its flags).
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    public static partial long syscall(long number, long arg);

    // SAFETY: ioctl with a pointer to a stack struct at least as large as the request number encodes.
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* arg);

    // SAFETY: reads into a caller-owned buffer of at least count bytes.
    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, void* buffer, nuint count);

    // SAFETY: polls one pollfd on the caller's stack.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll(pollfd_t* fds, nuint count, int timeoutMs);

    // SAFETY: closes an fd this process owns, once.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    // SAFETY: changes protection of a page-aligned mapping this process created.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int mprotect(IntPtr addr, nuint length, int prot);
}
