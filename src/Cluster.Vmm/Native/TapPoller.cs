using System.Runtime.InteropServices;
using static Cluster.Vmm.Native.TapNative;

namespace Cluster.Vmm.Native;

/// <summary>
/// What a tap back-end's I/O thread sleeps in: poll(2) over the tap's fd (when it wants frames) and an eventfd that
/// other threads kick (the guest gave receive buffers, a pause, a stop). <see cref="Kick"/> is safe from any thread and
/// never blocks.
/// </summary>
public sealed class TapPoller : IDisposable
{
    private readonly int _eventFd;
    private int _disposed;

    /// <summary>A new poller with its eventfd.</summary>
    /// <exception cref="VmmException">eventfd failed.</exception>
    public TapPoller()
    {
        _eventFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (_eventFd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new VmmException($"eventfd failed: {Marshal.GetPInvokeErrorMessage(errno)}", "eventfd", errno);
        }
    }

    /// <summary>Wakes a thread in <see cref="Wait"/> (or makes its next wait return at once).</summary>
    public void Kick()
    {
        if (Volatile.Read(ref _disposed) != 0) return;
        ulong one = 1;
        // SAFETY: see the call below.
        unsafe
        {
            // SAFETY: an 8-byte local written to an eventfd this object owns (EAGAIN at the counter's maximum: it is kicked anyway).
            TapNative.write(_eventFd, (byte*)&one, 8);
        }
    }

    /// <summary>Sleeps until a kick, until <paramref name="tap"/> has a frame to read (only when
    /// <paramref name="wantFrames"/>), or <paramref name="timeoutMs"/> passed (-1: no limit). Returns whether the tap is
    /// readable; a kick is consumed.</summary>
    /// <exception cref="VmmException">poll failed, or the tap's fd is no longer valid.</exception>
    public bool Wait(TapDevice tap, bool wantFrames, int timeoutMs)
    {
        // SAFETY: a stack array of two pollfd and a local counter, used only during the calls below.
        unsafe
        {
            var fds = stackalloc PollFd[2];
            fds[0] = new PollFd { Fd = _eventFd, Events = POLLIN };
            fds[1] = new PollFd { Fd = wantFrames ? tap.Fd : -1, Events = POLLIN }; // a negative fd is skipped
            // SAFETY: fds is a stack array of two pollfd for the call; both fds are open (owned here and by the tap).
            int n = poll(fds, 2, timeoutMs);
            if (n < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == EINTR) return false;
                throw new VmmException($"poll failed: {Marshal.GetPInvokeErrorMessage(errno)}", "poll", errno);
            }
            if ((fds[0].Revents & POLLIN) != 0)
            {
                ulong value;
                // SAFETY: reads the eventfd's 8-byte counter into a local (resets it to 0).
                TapNative.read(_eventFd, (byte*)&value, 8);
            }
            if ((fds[1].Revents & (POLLERR | POLLNVAL)) != 0)
                throw new VmmException($"tap '{tap.Name}': poll reports {((fds[1].Revents & POLLNVAL) != 0 ? "an invalid fd" : "an error")}", "poll");
            return (fds[1].Revents & POLLIN) != 0;
        }
    }

    /// <summary>Closes the eventfd (after the thread that waits on it ended).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) Libc.close(_eventFd);
    }
}
