using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using static Cluster.Vmm.Native.TapNative;

namespace Cluster.Vmm.Native;

/// <summary>
/// One tap interface as the VMM uses it: a non-blocking fd of /dev/net/tun attached with IFF_TAP | IFF_NO_PI |
/// IFF_VNET_HDR, a virtio-net header of 12 bytes before every frame (TUNSETVNETHDRSZ: virtio 1.x's header, with
/// num_buffers), and no offloads (TUNSETOFFLOAD 0: the kernel hands over only whole frames with complete checksums,
/// which is all a device that offers no checksum or segmentation feature may pass on). Either opened by name here, or
/// an fd already attached that a node opened and passed (SCM_RIGHTS): this object then owns a duplicate of it.
/// </summary>
public sealed class TapDevice : IDisposable
{
    /// <summary>Bytes of the virtio-net header before every frame on the fd.</summary>
    public const int VnetHeaderSize = 12;

    private readonly SafeFileHandle _fd;

    private TapDevice(SafeFileHandle fd, string name)
    {
        _fd = fd;
        Name = name;
    }

    /// <summary>The interface's name (ndtap0).</summary>
    public string Name { get; }

    /// <summary>Opens (creating it where it does not exist) the tap interface <paramref name="name"/>.</summary>
    /// <exception cref="VmmException">a name that is empty, too long or not printable ASCII, no /dev/net/tun, no
    /// permission (CAP_NET_ADMIN), or an interface of that name that is not a free tap.</exception>
    public static TapDevice Open(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 || name.Length >= IFNAMSIZ || name.Any(c => c <= ' ' || c > '~' || c == '/' || c == ':'))
            throw new VmmException($"'{name}' is not a valid interface name (1..{IFNAMSIZ - 1} printable ASCII characters, no '/', ':' or space)", "tap-open");
        int raw = Libc.open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
        if (raw < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new VmmException($"cannot open /dev/net/tun: {Marshal.GetPInvokeErrorMessage(errno)}", "tap-open", errno);
        }
        var fd = new SafeFileHandle(raw, ownsHandle: true);
        try
        {
            var req = new IfReq { Flags = (short)(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR) };
            // SAFETY: writes the name into the local struct's fixed 16-byte field (checked above to be at most 15
            // bytes, so a NUL stays) and passes the struct to the kernel.
            unsafe
            {
                var bytes = Encoding.ASCII.GetBytes(name);
                for (int i = 0; i < bytes.Length; i++) req.Name[i] = bytes[i];
                // SAFETY: req is a local struct of the kernel's ifreq size; fd is open for the call.
                if (ioctl_ifreq(raw, TUNSETIFF, &req) < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    throw new VmmException($"cannot attach tap '{name}' (TUNSETIFF): {Marshal.GetPInvokeErrorMessage(errno)}"
                        + (errno == 16 ? " (another process holds it)" : errno == 1 ? " (needs CAP_NET_ADMIN)" : errno == 22 ? " (an interface of that name that is not a tap)" : ""),
                        "TUNSETIFF", errno);
                }
            }
            var tap = new TapDevice(fd, name);
            tap.Configure();
            return tap;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>A tap fd already attached (opened by a node and passed): keeps a duplicate of it (the caller still owns
    /// <paramref name="fd"/>), checks that it is a tap with IFF_VNET_HDR and IFF_NO_PI, and makes it non-blocking.</summary>
    /// <exception cref="VmmException">an fd that is not an attached tap, or one attached without IFF_VNET_HDR or with packet information.</exception>
    public static TapDevice Adopt(SafeHandle fd)
    {
        ArgumentNullException.ThrowIfNull(fd);
        bool added = false;
        fd.DangerousAddRef(ref added);
        int dup;
        try { dup = Libc.fcntl_int((int)fd.DangerousGetHandle(), Libc.F_DUPFD_CLOEXEC, 3); }
        finally { if (added) fd.DangerousRelease(); }
        if (dup < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new VmmException($"cannot duplicate the tap fd: {Marshal.GetPInvokeErrorMessage(errno)}", "tap-adopt", errno);
        }
        var own = new SafeFileHandle(dup, ownsHandle: true);
        try
        {
            var req = new IfReq();
            string name;
            // SAFETY: the kernel fills the local struct; the name is read up to its NUL within the 16-byte field.
            unsafe
            {
                // SAFETY: req is a local struct of the kernel's ifreq size; dup is open for the call.
                if (ioctl_ifreq(dup, TUNGETIFF, &req) < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    throw new VmmException($"the fd given as a tap is not an attached tun/tap (TUNGETIFF: {Marshal.GetPInvokeErrorMessage(errno)})", "TUNGETIFF", errno);
                }
                int n = 0;
                while (n < IFNAMSIZ && req.Name[n] != 0) n++;
                name = Encoding.ASCII.GetString(new ReadOnlySpan<byte>(req.Name, n));
            }
            if ((req.Flags & IFF_TAP) == 0) throw new VmmException($"'{name}' is a tun (layer 3) device, not a tap", "tap-adopt");
            if ((req.Flags & IFF_VNET_HDR) == 0) throw new VmmException($"tap '{name}' was attached without IFF_VNET_HDR", "tap-adopt");
            if ((req.Flags & IFF_NO_PI) == 0) throw new VmmException($"tap '{name}' was attached with packet information (no IFF_NO_PI)", "tap-adopt");
            int flags = Libc.fcntl_int(dup, Libc.F_GETFL, 0);
            if (flags < 0 || Libc.fcntl_int(dup, Libc.F_SETFL, flags | O_NONBLOCK) < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new VmmException($"cannot make tap '{name}' non-blocking: {Marshal.GetPInvokeErrorMessage(errno)}", "tap-adopt", errno);
            }
            var tap = new TapDevice(own, name);
            tap.Configure();
            return tap;
        }
        catch
        {
            own.Dispose();
            throw;
        }
    }

    private void Configure()
    {
        // SAFETY: passes a pointer to a local int for the call only.
        unsafe
        {
            int size = VnetHeaderSize;
            // SAFETY: size is a local int; the fd is open (this object owns it).
            if (ioctl_intptr(Fd, TUNSETVNETHDRSZ, &size) < 0) Fail("TUNSETVNETHDRSZ");
        }
        // SAFETY: no memory is passed; no offloads: the kernel completes checksums and segments before handing frames over.
        if (ioctl_value(Fd, TUNSETOFFLOAD, 0) < 0) Fail("TUNSETOFFLOAD");
    }

    private void Fail(string what)
    {
        int errno = Marshal.GetLastPInvokeError();
        throw new VmmException($"tap '{Name}': {what} failed: {Marshal.GetPInvokeErrorMessage(errno)}", what, errno);
    }

    /// <summary>The raw fd, for poll (valid while this object is not disposed).</summary>
    internal int Fd => (int)_fd.DangerousGetHandle();

    /// <summary>Reads one frame (its 12-byte header first) into <paramref name="buffer"/>: its length, or -1 when none is
    /// waiting. A frame longer than the buffer is cut by the kernel (the caller gives 64 KiB + the header).</summary>
    /// <exception cref="VmmException">a read error other than "nothing waiting".</exception>
    public int Read(Span<byte> buffer)
    {
        while (true)
        {
            nint n;
            // SAFETY: see the call below.
            unsafe
            {
                // SAFETY: the span is pinned for the call and the kernel writes at most its length; the fd is open.
                fixed (byte* p = buffer) n = TapNative.read(Fd, p, (nuint)buffer.Length);
            }
            if (n >= 0) return (int)n;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return -1;
            throw new VmmException($"tap '{Name}': read failed: {Marshal.GetPInvokeErrorMessage(errno)}", "tap-read", errno);
        }
    }

    /// <summary>Writes one frame (its 12-byte header first): 0, or the errno of a write the kernel refused (EIO while
    /// the interface is down, EINVAL for a frame it finds malformed, EAGAIN).</summary>
    public int Write(ReadOnlySpan<byte> frame)
    {
        while (true)
        {
            nint n;
            // SAFETY: see the call below.
            unsafe
            {
                // SAFETY: the span is pinned for the call and the kernel reads at most its length; the fd is open.
                fixed (byte* p = frame) n = TapNative.write(Fd, p, (nuint)frame.Length);
            }
            if (n >= 0) return 0;
            int errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR) return errno;
        }
    }

    /// <summary>Closes the fd (a tap opened by name and not persistent disappears with it).</summary>
    public void Dispose() => _fd.Dispose();
}
