using System.Buffers.Binary;
using System.Net.Sockets;

namespace Cluster.Vmm.Native;

/// <summary>The credentials of the process at the other end of a connected Unix socket (SO_PEERCRED).</summary>
internal static class PeerCredentials
{
    private const int SOL_SOCKET = 1, SO_PEERCRED = 17;

    /// <summary>The peer's (pid, uid, gid) as the kernel recorded them at connect time.</summary>
    /// <exception cref="SocketException">the option cannot be read (not a Unix socket).</exception>
    public static (int Pid, uint Uid, uint Gid) Of(Socket socket)
    {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }: three 32-bit fields. GetRawSocketOption is
        // getsockopt on a managed buffer of the right size; no pointers are involved.
        Span<byte> ucred = stackalloc byte[12];
        int n = socket.GetRawSocketOption(SOL_SOCKET, SO_PEERCRED, ucred);
        if (n != 12) throw new SocketException((int)SocketError.ProtocolOption);
        return (BinaryPrimitives.ReadInt32LittleEndian(ucred), BinaryPrimitives.ReadUInt32LittleEndian(ucred[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(ucred[8..]));
    }

    /// <summary>This process's real uid.</summary>
    public static uint OwnUid => Libc.getuid();
}
