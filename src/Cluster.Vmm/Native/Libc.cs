using System.Runtime.InteropServices;

namespace Cluster.Vmm.Native;

/// <summary>The few libc calls the VMM needs that .NET does not wrap.</summary>
internal static partial class Libc
{
    public const int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    public const int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000;
    public const int MADV_DONTNEED = 4, MADV_HUGEPAGE = 14;
    public static readonly IntPtr MAP_FAILED = new(-1);

    // SAFETY: plain libc mmap; callers check for MAP_FAILED and own the returned mapping.
    [LibraryImport("libc", SetLastError = true)]
    public static partial IntPtr mmap(IntPtr addr, nuint length, int prot, int flags, int fd, long offset);

    // SAFETY: unmaps a mapping this process created with mmap; called once per mapping by its owner.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int munmap(IntPtr addr, nuint length);

    // SAFETY: advice on a mapping the caller owns; MADV_DONTNEED on anonymous memory zero-fills the range.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int madvise(IntPtr addr, nuint length, int advice);
}
