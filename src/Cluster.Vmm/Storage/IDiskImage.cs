namespace Cluster.Vmm.Storage;

/// <summary>
/// An open disk image as a block device sees it: a virtual size and byte-addressed reads and
/// writes of whole 512-byte sectors. Implementations (raw, qcow2) are safe for concurrent calls
/// from several I/O threads; they are never called on a vCPU thread. Errors are
/// <see cref="VmmException"/> with the operation "disk-io" (the device turns them into an I/O
/// error status for the guest).
/// </summary>
public interface IDiskImage : IDisposable
{
    /// <summary>The file the image was opened from (the top of a backing chain).</summary>
    string Path { get; }

    /// <summary>The format of the top file.</summary>
    DiskFormat Format { get; }

    /// <summary>The size the guest sees, in bytes (a multiple of 512).</summary>
    ulong VirtualSize { get; }

    /// <summary>Opened read-only: writes, discards and zeroing are refused.</summary>
    bool ReadOnly { get; }

    /// <summary>Reads <paramref name="destination"/>.Length bytes at <paramref name="offset"/>
    /// (both multiples of 512, inside the virtual size); unallocated areas read as their backing
    /// file or as zeroes.</summary>
    void Read(ulong offset, Span<byte> destination);

    /// <summary>Writes <paramref name="source"/> at <paramref name="offset"/> (multiples of 512,
    /// inside the virtual size). Not durable until <see cref="Flush"/> returns.</summary>
    void Write(ulong offset, ReadOnlySpan<byte> source);

    /// <summary>Makes every completed write durable: returns only after fdatasync of the data and
    /// of the image's metadata has returned.</summary>
    void Flush();

    /// <summary>The range may be dropped: it then reads as zeroes (or as the backing file where the
    /// format cannot hide it). A hint: an image may ignore it.</summary>
    void Discard(ulong offset, ulong length);

    /// <summary>The range reads as zeroes afterwards; <paramref name="mayUnmap"/> lets the image
    /// deallocate it instead of writing zeroes.</summary>
    void WriteZeroes(ulong offset, ulong length, bool mayUnmap);
}

/// <summary>An image file format.</summary>
public enum DiskFormat
{
    /// <summary>The bytes of the disk, as they are.</summary>
    Raw,

    /// <summary>QEMU's copy-on-write format, version 3.</summary>
    Qcow2,
}

/// <summary>How an image file is cached on the host.</summary>
public enum DiskCacheMode
{
    /// <summary>Through the host page cache; FLUSH makes writes durable.</summary>
    Writeback,

    /// <summary>O_DIRECT: past the host page cache; FLUSH still syncs the file's metadata.</summary>
    None,
}
