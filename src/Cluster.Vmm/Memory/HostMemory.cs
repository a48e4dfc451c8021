using System.Runtime.InteropServices;
using Cluster.Vmm.Native;

namespace Cluster.Vmm.Memory;

/// <summary>
/// Page-aligned, zero-filled host memory from an anonymous private mmap, the backing of a guest
/// memory slot. Pages are committed lazily by the kernel, so an untouched guest costs nothing.
/// Reference-counted (a <see cref="SafeHandle"/>): a thread that writes into it from outside the machine's own
/// lifetime (a migration's page reader) holds a <see cref="Lease"/>, so that a Dispose meanwhile defers the munmap
/// until the lease ends, and a lease taken after it fails instead of touching unmapped memory.
/// </summary>
public sealed unsafe class HostMemory : SafeHandle
{
    /// <summary>The largest single mapping accepted (1 TiB), to reject absurd sizes early.</summary>
    public const ulong MaxSize = 1UL << 40;

    private HostMemory(IntPtr address, ulong size) : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(address);
        Size = size;
    }

    public ulong Size { get; }

    /// <summary>The start of the mapping. Valid while this object is not disposed.</summary>
    public byte* Pointer => (byte*)handle;

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Maps <paramref name="size"/> bytes (a positive multiple of 4 KiB).</summary>
    public static HostMemory Allocate(ulong size)
    {
        if (size == 0 || (size & (GuestAddress.PageSize - 1)) != 0)
            throw new VmmException($"host memory size {size} must be a positive multiple of 4096", "mmap");
        if (size > MaxSize)
            throw new VmmException($"host memory size {size} exceeds the limit of {MaxSize} bytes", "mmap");
        // SAFETY: anonymous private mapping; no file, no fixed address; the result is checked.
        var p = Libc.mmap(IntPtr.Zero, (nuint)size, Libc.PROT_READ | Libc.PROT_WRITE,
            Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
        if (p == Libc.MAP_FAILED)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new VmmException($"mmap of {size} bytes failed (errno {errno})", "mmap", errno);
        }
        return new HostMemory(p, size);
    }

    /// <summary>A span over part of the mapping; bounds are checked.</summary>
    public Span<byte> AsSpan(ulong offset, int length)
    {
        if (offset > Size || (ulong)length > Size - offset)
            throw new ArgumentOutOfRangeException(nameof(offset), $"range 0x{offset:x}+{length} is outside host memory of {Size} bytes");
        // SAFETY: the range was checked against the mapping's size above, and the mapping lives as long as this object.
        return new Span<byte>(Pointer + offset, length);
    }

    /// <summary>Keeps the mapping alive until the lease is disposed.</summary>
    /// <exception cref="ObjectDisposedException">the memory was already released.</exception>
    public MemoryLease Lease()
    {
        bool added = false;
        DangerousAddRef(ref added);
        return new MemoryLease(this);
    }

    /// <summary>Gives whole pages back to the kernel; they read as zero afterwards.</summary>
    public void Discard(ulong offset, ulong length)
    {
        if ((offset | length) % GuestAddress.PageSize != 0 || offset > Size || length > Size - offset)
            throw new ArgumentOutOfRangeException(nameof(offset));
        // SAFETY: page-aligned range inside our own anonymous mapping.
        Libc.madvise((IntPtr)(Pointer + offset), (nuint)length, Libc.MADV_DONTNEED);
    }

    /// <summary>
    /// Asks the kernel to back the mapping with transparent huge pages (MADV_HUGEPAGE, the default
    /// mode of most distributions is "madvise"): 512 times fewer page faults when a large guest's
    /// memory is first written, as when a migration target receives it. Only advice: false when
    /// the kernel declined, and the memory works the same either way.
    /// </summary>
    public bool AdviseHugePages()
    {
        // SAFETY: advice on our own anonymous mapping, whole and page-aligned; it changes no content.
        return Libc.madvise(handle, (nuint)Size, Libc.MADV_HUGEPAGE) == 0;
    }

    protected override bool ReleaseHandle()
    {
        // SAFETY: this object created the mapping and releases it exactly once (SafeHandle guarantees it).
        return Libc.munmap(handle, (nuint)Size) == 0;
    }
}

/// <summary>A reference on a <see cref="HostMemory"/> (see <see cref="HostMemory.Lease"/>); the default lease holds nothing.</summary>
public readonly struct MemoryLease : IDisposable
{
    private readonly HostMemory? _memory;

    internal MemoryLease(HostMemory memory) => _memory = memory;

    /// <summary>Gives the reference back (the mapping goes when its owner disposed it and no lease is left).</summary>
    public void Dispose() => _memory?.DangerousRelease();
}
