using System.Runtime.InteropServices;
using Cluster.Vmm.Kvm.Interop;
using Cluster.Vmm.Native;

namespace Cluster.Vmm.Kvm;

/// <summary>
/// The signal that <see cref="KvmVcpu.Kick"/> sends to a vCPU thread blocked in KVM_RUN: SIGUSR1, which the
/// .NET runtime leaves alone on Linux. Its handler is a native no-op (one <c>ret</c> instruction on a page
/// of its own, so no managed code ever runs in signal context), installed with sigaction without
/// SA_RESTART: KVM_RUN then returns EINTR instead of being restarted. Installed once per process; refused
/// when something else already handles SIGUSR1.
/// </summary>
internal static unsafe class KickSignal
{
    private static readonly object Gate = new();
    private static IntPtr _handler;

    public const int Number = KvmNative.SIGUSR1;

    /// <summary>Installs the handler if it is not yet; returns false with a reason if the signal is taken.</summary>
    public static bool TryInstall(out string reason)
    {
        lock (Gate)
        {
            reason = "";
            if (_handler != IntPtr.Zero) return true;
            KvmNative.sigaction_t old;
            // SAFETY: queries the current disposition into a stack struct of glibc's layout.
            if (KvmNative.sigaction(Number, null, &old) != 0)
            {
                reason = $"sigaction(SIGUSR1) failed: errno {Marshal.GetLastPInvokeError()}";
                return false;
            }
            if (old.sa_handler != IntPtr.Zero && old.sa_handler != new IntPtr(1))
            {
                reason = "SIGUSR1 already has a handler in this process; the KVM backend needs it to kick vCPUs";
                return false;
            }
            // SAFETY: one anonymous private page; the result is checked.
            IntPtr page = Libc.mmap(IntPtr.Zero, 4096, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
            if (page == Libc.MAP_FAILED)
            {
                reason = $"mmap for the SIGUSR1 handler failed: errno {Marshal.GetLastPInvokeError()}";
                return false;
            }
            // SAFETY: the page was just mapped writable; 0xC3 is x86 'ret', a complete handler that does nothing.
            *(byte*)page = 0xC3;
            // SAFETY: our own page-aligned mapping; from now on it is read-only and executable, never freed.
            if (KvmNative.mprotect(page, 4096, Libc.PROT_READ | Libc.PROT_EXEC) != 0)
            {
                reason = $"mprotect of the SIGUSR1 handler failed: errno {Marshal.GetLastPInvokeError()}";
                return false;
            }
            var action = new KvmNative.sigaction_t { sa_handler = page, sa_flags = 0 };
            // SAFETY: a stack struct of glibc's layout with an empty mask and no SA_RESTART; glibc sets the restorer.
            if (KvmNative.sigaction(Number, &action, null) != 0)
            {
                reason = $"sigaction(SIGUSR1) failed: errno {Marshal.GetLastPInvokeError()}";
                return false;
            }
            _handler = page;
            return true;
        }
    }
}
