using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Cluster.Vmm.Native;

/// <summary>
/// File descriptors over a Unix stream socket (SCM_RIGHTS, unix(7)): sendmsg with a control message that lists
/// the descriptors, recvmsg that receives them as new descriptors of this process (close-on-exec). The kernel
/// attaches them to the first byte of the data sent with them; the recvmsg that reads that byte gets them.
/// </summary>
internal static unsafe partial class ScmRights
{
    /// <summary>The most descriptors one message may carry (SCM_MAX_FD).</summary>
    public const int MaxFds = 253;

    private const int SOL_SOCKET = 1, SCM_RIGHTS = 1;
    private const int EINTR = 4;
    private const int MSG_NOSIGNAL = 0x4000, MSG_CTRUNC = 0x8, MSG_CMSG_CLOEXEC = 0x40000000;
    /// <summary>sizeof(struct cmsghdr) on 64-bit Linux: size_t cmsg_len, int cmsg_level, int cmsg_type.</summary>
    private const int CmsgHeader = 16;

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    /// <summary>struct msghdr as 64-bit Linux lays it out (sequential layout gives the C padding after msg_namelen).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public byte* Control;
        public nuint ControlLength;
        public int Flags;
    }

    // SAFETY: the message header, its one iovec and its control buffer are stack or pinned memory that lives across
    // the call; the socket's fd is kept open by a reference on its SafeHandle; the kernel only reads them.
    [LibraryImport("libc", SetLastError = true)]
    private static partial nint sendmsg(int fd, MsgHdr* msg, int flags);

    // SAFETY: as sendmsg; the kernel writes at most IovLength bytes to the data buffer and ControlLength bytes to the
    // control buffer, and the lengths it returns are checked before anything is read back.
    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recvmsg(int fd, MsgHdr* msg, int flags);

    private static int ControlSpace(int fds) => CmsgHeader + ((fds * sizeof(int) + 7) & ~7);

    /// <summary>Sends the start of <paramref name="data"/> (at least one byte) with <paramref name="fds"/>; returns the bytes
    /// sent (the caller sends the rest as plain data). Waits while the socket's buffer is full.</summary>
    /// <exception cref="SocketException">the send failed.</exception>
    public static int Send(Socket socket, ReadOnlySpan<byte> data, IReadOnlyList<SafeFileHandle> fds)
    {
        if (data.IsEmpty) throw new ArgumentException("descriptors travel with at least one byte", nameof(data));
        if (fds.Count is 0 or > MaxFds) throw new ArgumentOutOfRangeException(nameof(fds), fds.Count, $"1 to {MaxFds} descriptors");
        var added = new bool[fds.Count];
        bool socketAdded = false;
        try
        {
            Span<byte> control = stackalloc byte[ControlSpace(fds.Count)];
            control.Clear();
            MemoryMarshal.Write(control, (ulong)(CmsgHeader + fds.Count * sizeof(int)));
            MemoryMarshal.Write(control[8..], SOL_SOCKET);
            MemoryMarshal.Write(control[12..], SCM_RIGHTS);
            for (int i = 0; i < fds.Count; i++)
            {
                fds[i].DangerousAddRef(ref added[i]);
                MemoryMarshal.Write(control[(CmsgHeader + i * sizeof(int))..], (int)fds[i].DangerousGetHandle());
            }
            socket.SafeHandle.DangerousAddRef(ref socketAdded);
            int fd = (int)socket.SafeHandle.DangerousGetHandle();
            // SAFETY: data and control are pinned for the call; the header and the iovec are locals on this stack.
            fixed (byte* d = data)
            fixed (byte* c = control)
            {
                var iov = new IoVec { Base = d, Length = (nuint)data.Length };
                var msg = new MsgHdr { Iov = &iov, IovLength = 1, Control = c, ControlLength = (nuint)control.Length };
                while (true)
                {
                    nint n = sendmsg(fd, &msg, MSG_NOSIGNAL);
                    if (n > 0) return (int)n;
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Libc.EAGAIN) socket.Poll(100_000, SelectMode.SelectWrite);
                    else if (errno != EINTR) throw new SocketException(errno);
                }
            }
        }
        finally
        {
            if (socketAdded) socket.SafeHandle.DangerousRelease();
            for (int i = 0; i < fds.Count; i++)
                if (added[i]) fds[i].DangerousRelease();
        }
    }

    /// <summary>Receives up to <paramref name="data"/>'s length; descriptors that came with the bytes are added to
    /// <paramref name="fds"/> (owned by the caller). Returns 0 at the end of the stream. Waits for data.</summary>
    /// <exception cref="SocketException">the receive failed, or the descriptors did not fit (they are closed).</exception>
    public static int Receive(Socket socket, Span<byte> data, List<SafeFileHandle> fds)
    {
        Span<byte> control = stackalloc byte[ControlSpace(MaxFds)];
        bool socketAdded = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref socketAdded);
            int fd = (int)socket.SafeHandle.DangerousGetHandle();
            // SAFETY: data and control are pinned for the call; the kernel writes within the lengths given, and only
            // the control bytes it reports (ControlLength after the call) are parsed.
            fixed (byte* d = data)
            fixed (byte* c = control)
            {
                var iov = new IoVec { Base = d, Length = (nuint)data.Length };
                var msg = new MsgHdr { Iov = &iov, IovLength = 1, Control = c, ControlLength = (nuint)control.Length };
                nint n;
                while (true)
                {
                    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
                    if (n >= 0) break;
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Libc.EAGAIN) socket.Poll(100_000, SelectMode.SelectRead);
                    else if (errno != EINTR) throw new SocketException(errno);
                }
                TakeDescriptors(control[..(int)msg.ControlLength], fds);
                if ((msg.Flags & MSG_CTRUNC) != 0) throw new SocketException((int)SocketError.MessageSize);
                return (int)n;
            }
        }
        finally
        {
            if (socketAdded) socket.SafeHandle.DangerousRelease();
        }
    }

    /// <summary>Walks the control messages (each CMSG_ALIGNed) and wraps every SCM_RIGHTS descriptor in a handle.</summary>
    private static void TakeDescriptors(ReadOnlySpan<byte> control, List<SafeFileHandle> fds)
    {
        while (control.Length >= CmsgHeader)
        {
            int length = (int)MemoryMarshal.Read<ulong>(control);
            if (length < CmsgHeader || length > control.Length) return;
            if (MemoryMarshal.Read<int>(control[8..]) == SOL_SOCKET && MemoryMarshal.Read<int>(control[12..]) == SCM_RIGHTS)
                for (int at = CmsgHeader; at + sizeof(int) <= length; at += sizeof(int))
                    fds.Add(new SafeFileHandle(MemoryMarshal.Read<int>(control[at..]), ownsHandle: true));
            int next = (length + 7) & ~7;
            if (next >= control.Length) return;
            control = control[next..];
        }
    }
}
