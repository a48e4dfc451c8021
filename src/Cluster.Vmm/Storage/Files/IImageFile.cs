namespace Cluster.Vmm.Storage.Files;

/// <summary>
/// The host file under an image, as the formats use it: positioned reads and writes, a size, and
/// the few calls that reach the disk (sync, hole punching). Raw and qcow2 images are written over
/// this interface so that a test can put a layer between them and the file (for example one that
/// records the order of writes and syncs).
/// </summary>
internal interface IImageFile : IDisposable
{
    /// <summary>The path the file was opened from.</summary>
    string Path { get; }

    /// <summary>The file's length in bytes.</summary>
    long Length { get; }

    /// <summary>The file's device and inode: the same file opened twice has the same identity.</summary>
    FileIdentity Identity { get; }

    /// <summary>Bytes the file occupies on disk (st_blocks * 512).</summary>
    long AllocatedBytes { get; }

    /// <summary>Reads <paramref name="destination"/> at <paramref name="offset"/>; bytes past the end
    /// of the file read as zeroes.</summary>
    void Read(long offset, Span<byte> destination);

    /// <summary>Writes <paramref name="source"/> at <paramref name="offset"/>, growing the file if needed.</summary>
    void Write(long offset, ReadOnlySpan<byte> source);

    /// <summary>Sets the file's length.</summary>
    void SetLength(long length);

    /// <summary>fdatasync: returns once every completed write is on stable storage.</summary>
    void Sync();

    /// <summary>Deallocates a range, keeping the size (reads as zeroes); false where the file system
    /// cannot.</summary>
    bool PunchHole(long offset, long length);

    /// <summary>Zeroes a range without writing it (FALLOC_FL_ZERO_RANGE); false where the file
    /// system cannot.</summary>
    bool ZeroRange(long offset, long length);
}

/// <summary>A file's device and inode numbers.</summary>
internal readonly record struct FileIdentity(ulong Device, ulong Inode);

/// <summary>An image over one host file (the top of its chain).</summary>
internal interface IFileImage
{
    /// <summary>The host file.</summary>
    IImageFile File { get; }
}
