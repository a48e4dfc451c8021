using System.Runtime.InteropServices;
using Cluster.Vmm.Native;
using static Cluster.Vmm.Native.UserfaultfdNative;

namespace Cluster.Vmm.Memory;

/// <summary>
/// userfaultfd over the host memory of a VM's slots, in missing mode: a touch of a page that is not
/// mapped (by a vCPU inside KVM or by any VMM thread) blocks in the kernel and reaches a fault-serving
/// thread here, which reports its guest-physical address; <see cref="Place"/> maps the page's content
/// atomically (UFFDIO_COPY, UFFDIO_ZEROPAGE) and wakes the faulting threads.
/// </summary>
internal sealed unsafe class Userfault : IDisposable
{
    private readonly int _fd;
    private readonly MemorySlot[] _slots;
    private readonly Action<ulong> _fault;
    private readonly Thread _thread;
    private volatile bool _stop;
    private bool _disposed;

    private Userfault(int fd, MemorySlot[] slots, Action<ulong> fault)
    {
        _fd = fd;
        _slots = slots;
        _fault = fault;
        _thread = new Thread(Serve) { IsBackground = true, Name = "userfaultfd" };
    }

    /// <summary>Why this host cannot serve faults through userfaultfd, or null when it can (opens and closes one).</summary>
    public static string? Probe()
    {
        try
        {
            int fd = Open();
            close(fd);
            return null;
        }
        catch (VmmException e)
        {
            return e.Message;
        }
    }

    /// <summary>Registers every slot's host memory and starts the fault-serving thread, which calls
    /// <paramref name="fault"/> with the guest-physical address of each page faulted on.</summary>
    /// <exception cref="VmmException">"post-copy needs userfaultfd: ..." when the kernel refuses.</exception>
    public static Userfault Create(IReadOnlyList<MemorySlot> slots, Action<ulong> fault)
    {
        int fd = Open();
        try
        {
            foreach (var slot in slots)
            {
                var reg = new uffdio_register
                {
                    range = new uffdio_range { start = (ulong)slot.Memory.Pointer, len = slot.Size },
                    mode = UFFDIO_REGISTER_MODE_MISSING,
                };
                // SAFETY: reg is a stack struct of the size UFFDIO_REGISTER encodes; the range is our own mapping.
                if (ioctl(fd, UFFDIO_REGISTER, &reg) < 0) throw Refused("UFFDIO_REGISTER");
            }
        }
        catch
        {
            close(fd);
            throw;
        }
        var u = new Userfault(fd, [.. slots], fault);
        u._thread.Start();
        return u;
    }

    /// <summary>Maps <paramref name="content"/> (4,096 bytes, or empty for zeros) at the page
    /// <paramref name="host"/> and wakes its faulting threads; a page already mapped is left as it is.</summary>
    /// <exception cref="VmmException">the kernel refused the copy.</exception>
    public void Place(byte* host, ReadOnlySpan<byte> content)
    {
        int r;
        if (content.IsEmpty)
        {
            var z = new uffdio_zeropage { range = new uffdio_range { start = (ulong)host, len = GuestAddress.PageSize } };
            // SAFETY: z is a stack struct of the size UFFDIO_ZEROPAGE encodes; host is a page of a registered range.
            r = ioctl(_fd, UFFDIO_ZEROPAGE, &z);
        }
        else
        {
            fixed (byte* src = content)
            {
                var c = new uffdio_copy { dst = (ulong)host, src = (ulong)src, len = GuestAddress.PageSize };
                // SAFETY: c is a stack struct of the size UFFDIO_COPY encodes; src is pinned by fixed and holds
                // a whole page (the caller passes 4,096 bytes); dst is a page of a registered range.
                r = ioctl(_fd, UFFDIO_COPY, &c);
            }
        }
        if (r < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != EEXIST) throw new VmmException($"placing a post-copy page failed (errno {errno})", content.IsEmpty ? "UFFDIO_ZEROPAGE" : "UFFDIO_COPY", errno);
        }
    }

    /// <summary>Makes guest memory inaccessible (so that KVM_RUN fails with EFAULT instead of running on a
    /// page that never came), then wakes every thread blocked on a fault so that it sees that.</summary>
    public void Fail()
    {
        foreach (var slot in _slots)
        {
            // SAFETY: our own page-aligned mapping; nothing reads it through the VMM once post-copy has failed.
            mprotect((IntPtr)slot.Memory.Pointer, (nuint)slot.Size, Libc.PROT_NONE);
            var range = new uffdio_range { start = (ulong)slot.Memory.Pointer, len = slot.Size };
            // SAFETY: range is a stack struct of the size UFFDIO_WAKE encodes.
            ioctl(_fd, UFFDIO_WAKE, &range);
        }
    }

    /// <summary>Stops the thread, unregisters the memory and closes the fd.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stop = true;
        _thread.Join();
        foreach (var slot in _slots)
        {
            var range = new uffdio_range { start = (ulong)slot.Memory.Pointer, len = slot.Size };
            // SAFETY: range is a stack struct of the size UFFDIO_UNREGISTER encodes.
            ioctl(_fd, UFFDIO_UNREGISTER, &range);
        }
        close(_fd);
    }

    private static int Open()
    {
        long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) throw Refused("userfaultfd");
        var api = new uffdio_api { api = UFFD_API };
        // SAFETY: api is a stack struct of the size UFFDIO_API encodes.
        if (ioctl((int)fd, UFFDIO_API, &api) < 0)
        {
            var e = Refused("UFFDIO_API");
            close((int)fd);
            throw e;
        }
        return (int)fd;
    }

    private static VmmException Refused(string what)
    {
        int errno = Marshal.GetLastPInvokeError();
        return new VmmException($"post-copy needs userfaultfd: {what} failed with errno {errno}", what, errno);
    }

    private void Serve()
    {
        var msg = default(uffd_msg);
        var pfd = new pollfd_t { fd = _fd, events = POLLIN };
        while (!_stop)
        {
            // SAFETY: pfd lives on this thread's stack during the call.
            if (poll(&pfd, 1, 50) <= 0) continue;
            // SAFETY: msg is a stack struct of exactly one uffd_msg (32 bytes).
            while (read(_fd, &msg, (nuint)sizeof(uffd_msg)) == sizeof(uffd_msg))
            {
                if (msg.@event != UFFD_EVENT_PAGEFAULT) continue;
                if (GuestAddressOf(msg.address) is { } gpa) _fault(gpa);
            }
        }
    }

    private ulong? GuestAddressOf(ulong host)
    {
        foreach (var slot in _slots)
        {
            ulong start = (ulong)slot.Memory.Pointer;
            if (host >= start && host - start < slot.Size) return slot.GuestPhysAddr + ((host - start) & ~(GuestAddress.PageSize - 1));
        }
        return null;
    }
}
