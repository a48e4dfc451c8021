using System.Runtime.InteropServices;

namespace Cluster.Vmm.Kvm.Interop;

/// <summary>The libc calls of the KVM backend: open/close of /dev/kvm, ioctl, and the signal plumbing of Kick.</summary>
internal static unsafe partial class KvmNative
{
    public const int O_RDWR = 2, O_CLOEXEC = 0x80000;
    public const int ENOENT = 2, EINTR = 4, E2BIG = 7, EAGAIN = 11;

    /// <summary>SIGUSR1: not used by the .NET runtime on Linux (it uses SIGRTMIN for activation injection).</summary>
    public const int SIGUSR1 = 10;

    // SAFETY: plain open(2) of a NUL-terminated path marshalled by the generator; the caller owns the fd.
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    // SAFETY: closes an fd this process owns; called once by its SafeHandle.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    // SAFETY: ioctl with an integer argument (or none): no memory is passed to the kernel.
    // ioctl is variadic; on x86-64 SysV a fixed prototype with integer/pointer arguments passes them in the same registers.
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, nuint arg);

    // SAFETY: ioctl with a pointer argument: callers pass a pointer to a pinned or stack buffer at least as large
    // as the struct the request number encodes (or, for flexible arrays, the header plus the entries announced).
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* arg);

    // SAFETY: returns the calling thread's pthread_t; no arguments.
    [LibraryImport("libc")]
    public static partial nuint pthread_self();

    // SAFETY: signals a thread that is known to be alive: callers hold the lock that the thread takes before it leaves Run.
    [LibraryImport("libc")]
    public static partial int pthread_kill(nuint thread, int signal);

    // SAFETY: installs a handler described by a struct sigaction that lives on the caller's stack during the call;
    // glibc's wrapper fills in sa_restorer.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int sigaction(int signal, sigaction_t* action, sigaction_t* oldAction);

    // SAFETY: changes protection of a page-aligned mapping this process created.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int mprotect(IntPtr addr, nuint length, int prot);

    /// <summary>glibc's struct sigaction on x86-64: handler, 1024-bit mask, flags, restorer (152 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct sigaction_t
    {
        public IntPtr sa_handler;
        public fixed ulong sa_mask[16];
        public int sa_flags;
        public int pad;
        public IntPtr sa_restorer;
    }
}
