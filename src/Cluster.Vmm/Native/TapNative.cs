using System.Runtime.InteropServices;

namespace Cluster.Vmm.Native;

/// <summary>
/// The kernel's tun/tap interface (linux/if_tun.h, Documentation/networking/tuntap.rst) in its own names, and the
/// few calls a tap back-end needs: ioctl on /dev/net/tun, read/write of frames, poll, eventfd.
/// </summary>
internal static unsafe partial class TapNative
{
    /// <summary>ioctl numbers: _IOW('T', n, int) and _IOR('T', n, unsigned int).</summary>
    public const uint TUNSETIFF = 0x400454ca, TUNSETOFFLOAD = 0x400454d0, TUNGETIFF = 0x800454d2,
        TUNSETVNETHDRSZ = 0x400454d8, TUNGETVNETHDRSZ = 0x800454d7;

    /// <summary>ifr_flags of TUNSETIFF.</summary>
    public const short IFF_TUN = 0x0001, IFF_TAP = 0x0002, IFF_NO_PI = 0x1000, IFF_VNET_HDR = 0x4000, IFF_MULTI_QUEUE = 0x0100;

    /// <summary>IFNAMSIZ: an interface name and its NUL.</summary>
    public const int IFNAMSIZ = 16;

    /// <summary>open(2) flags.</summary>
    public const int O_RDWR = 2, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;

    /// <summary>eventfd(2) flags.</summary>
    public const int EFD_NONBLOCK = 0x800, EFD_CLOEXEC = 0x80000;

    /// <summary>poll(2) events.</summary>
    public const short POLLIN = 1, POLLERR = 8, POLLHUP = 0x10, POLLNVAL = 0x20;

    /// <summary>errno values the back-end tells apart.</summary>
    public const int EINTR = 4, EAGAIN = 11, EBADFD = 77;

    /// <summary>struct ifreq as the tun ioctls use it: the name, then the flags (the union is 24 bytes).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 40)]
    public struct IfReq
    {
        public fixed byte Name[IFNAMSIZ];
        public short Flags;
    }

    /// <summary>struct pollfd.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    // SAFETY: TUNSETIFF/TUNGETIFF with a pointer to a caller-owned struct ifreq of the kernel's size (40 bytes); the
    // kernel reads and writes only that struct; the fd is kept open by the caller for the call.
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl_ifreq(int fd, nuint request, IfReq* ifr);

    // SAFETY: TUNSETVNETHDRSZ/TUNGETVNETHDRSZ with a pointer to a caller-owned int the kernel reads or writes.
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl_intptr(int fd, nuint request, int* value);

    // SAFETY: TUNSETOFFLOAD takes its argument by value (an unsigned long of TUN_F_* bits); no memory is passed.
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl_value(int fd, nuint request, nuint value);

    // SAFETY: read into a caller-pinned buffer of at least count bytes on an fd the caller keeps open.
    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, byte* buf, nuint count);

    // SAFETY: write from a caller-pinned buffer of at least count bytes on an fd the caller keeps open.
    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, byte* buf, nuint count);

    // SAFETY: poll over a caller-pinned array of nfds struct pollfd; the kernel writes only their revents.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint nfds, int timeout);

    // SAFETY: eventfd takes no memory; the caller owns (and closes) the fd returned.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);
}
