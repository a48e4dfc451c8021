using System.Runtime.InteropServices;
using Cluster.Vmm.Kvm.Interop;

namespace Cluster.Vmm.Kvm;

/// <summary>
/// An owned KVM file descriptor (/dev/kvm, a VM or a vCPU), closed once on dispose. Every ioctl holds a
/// reference on the handle for its duration, so a concurrent dispose cannot close the fd under a running call.
/// </summary>
internal sealed unsafe class KvmFd : SafeHandle
{
    public KvmFd(int fd) : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>An ioctl with an integer argument; a failure throws a <see cref="VmmException"/> naming it.</summary>
    public int Ioctl(string name, nuint request, nuint arg = 0)
    {
        int r = TryIoctl(request, arg, out int errno);
        return r >= 0 ? r : throw Failure(name, errno);
    }

    /// <summary>An ioctl with a pointer to a buffer of the size the request number encodes (or more).</summary>
    public int Ioctl(string name, nuint request, void* arg)
    {
        int r = TryIoctl(request, arg, out int errno);
        return r >= 0 ? r : throw Failure(name, errno);
    }

    public int TryIoctl(nuint request, nuint arg, out int errno)
    {
        bool added = false;
        try
        {
            DangerousAddRef(ref added);
            // SAFETY: integer argument, no memory handed to the kernel; the fd is kept open by the reference above.
            int r = KvmNative.ioctl((int)handle, request, arg);
            errno = r < 0 ? Marshal.GetLastPInvokeError() : 0;
            return r;
        }
        finally
        {
            if (added) DangerousRelease();
        }
    }

    public int TryIoctl(nuint request, void* arg, out int errno)
    {
        bool added = false;
        try
        {
            DangerousAddRef(ref added);
            // SAFETY: callers pass a buffer at least as large as the request's struct; the fd is kept open above.
            int r = KvmNative.ioctl((int)handle, request, arg);
            errno = r < 0 ? Marshal.GetLastPInvokeError() : 0;
            return r;
        }
        finally
        {
            if (added) DangerousRelease();
        }
    }

    /// <summary>The error of a failed ioctl, with its name and errno.</summary>
    public static VmmException Failure(string name, int errno, string? detail = null) =>
        new($"{name} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}){(detail is null ? "" : ": " + detail)}", name, errno);

    protected override bool ReleaseHandle()
    {
        // SAFETY: the fd was returned by open or a KVM create ioctl and is closed exactly once (SafeHandle guarantees it).
        return KvmNative.close((int)handle) == 0;
    }
}
