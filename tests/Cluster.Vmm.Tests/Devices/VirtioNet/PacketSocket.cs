using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Cluster.Vmm.Tests.Devices.VirtioNet;

/// <summary>
/// An AF_PACKET socket bound to one interface (packet(7)): what it sends goes out of the interface (into a tap: to the
/// VMM that reads the tap), what it receives came in (from the VMM that wrote the tap). Frames the host itself sent
/// out are skipped (PACKET_OUTGOING).
/// </summary>
internal sealed partial class PacketSocket : IDisposable
{
    private const int AF_PACKET = 17, SOCK_RAW = 3, ETH_P_ALL = 3, SOL_SOCKET = 1, SO_RCVBUFFORCE = 33, SO_SNDBUFFORCE = 32;
    private const byte PACKET_OUTGOING = 4;
    private const short POLLIN = 1;
    private readonly int _fd;

    public PacketSocket(string ifname)
    {
        int index = (int)if_nametoindex(ifname);
        if (index == 0) throw new InvalidOperationException($"no interface {ifname}");
        _fd = socket(AF_PACKET, SOCK_RAW, BinaryPrimitives.ReverseEndianness((ushort)ETH_P_ALL));
        if (_fd < 0) throw new InvalidOperationException($"socket(AF_PACKET): errno {Marshal.GetLastPInvokeError()}");
        int size = 16 << 20;
        setsockopt(_fd, SOL_SOCKET, SO_RCVBUFFORCE, ref size, 4);
        setsockopt(_fd, SOL_SOCKET, SO_SNDBUFFORCE, ref size, 4);
        var sll = new byte[20];
        BinaryPrimitives.WriteUInt16LittleEndian(sll, AF_PACKET);
        BinaryPrimitives.WriteUInt16BigEndian(sll.AsSpan(2), ETH_P_ALL);
        BinaryPrimitives.WriteInt32LittleEndian(sll.AsSpan(4), index);
        if (bind(_fd, sll, sll.Length) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            close(_fd);
            throw new InvalidOperationException($"bind(AF_PACKET, {ifname}): errno {errno}");
        }
    }

    /// <summary>Sends one frame out of the interface: 0, or the errno (ENOBUFS when a queue is full, EMSGSIZE over the MTU).</summary>
    public int Send(ReadOnlySpan<byte> frame)
    {
        var copy = frame.ToArray();
        return send(_fd, copy, (nuint)copy.Length, 0) < 0 ? Marshal.GetLastPInvokeError() : 0;
    }

    /// <summary>The next frame that came in through the interface within <paramref name="timeout"/>, or null.</summary>
    public byte[]? Receive(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var buffer = new byte[70000];
        var from = new byte[20];
        while (true)
        {
            int left = (int)Math.Max(0, (deadline - DateTime.UtcNow).TotalMilliseconds);
            var pfd = new PollFd { Fd = _fd, Events = POLLIN };
            if (poll(ref pfd, 1, left) <= 0) return null;
            int fromLen = from.Length;
            nint n = recvfrom(_fd, buffer, (nuint)buffer.Length, 0, from, ref fromLen);
            if (n < 0) return null;
            if (from[10] == PACKET_OUTGOING) continue;
            return buffer.AsSpan(0, (int)n).ToArray();
        }
    }

    public void Dispose() => close(_fd);

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    // SAFETY: the name is passed as a NUL-terminated UTF-8 copy; no memory is kept.
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint if_nametoindex(string name);

    // SAFETY: no memory is passed; the fd returned is owned (and closed) by this object.
    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    // SAFETY: addr is a managed array of len bytes (a struct sockaddr_ll) pinned by the marshaller for the call.
    [LibraryImport("libc", SetLastError = true)]
    private static partial int bind(int fd, byte[] addr, int len);

    // SAFETY: value is an int the marshaller pins for the call; len is its size.
    [LibraryImport("libc", SetLastError = true)]
    private static partial int setsockopt(int fd, int level, int name, ref int value, int len);

    // SAFETY: buf is a managed array of at least len bytes pinned for the call; the fd is this object's.
    [LibraryImport("libc", SetLastError = true)]
    private static partial nint send(int fd, byte[] buf, nuint len, int flags);

    // SAFETY: buf and from are managed arrays pinned for the call, at least len and fromLen bytes long; the kernel writes within them.
    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recvfrom(int fd, byte[] buf, nuint len, int flags, byte[] from, ref int fromLen);

    // SAFETY: fds is one struct pollfd the marshaller pins for the call; the kernel writes its revents.
    [LibraryImport("libc", SetLastError = true)]
    private static partial int poll(ref PollFd fds, nuint n, int timeout);

    // SAFETY: closes the fd this object owns, once.
    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
