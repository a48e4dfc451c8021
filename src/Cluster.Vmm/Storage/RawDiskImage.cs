using Cluster.Vmm.Storage.Files;

namespace Cluster.Vmm.Storage;

/// <summary>
/// A raw image: the guest's bytes at the same offsets in the file. Reads and writes are pread and
/// pwrite without a lock; FLUSH is fdatasync; discard punches a hole; zeroing punches a hole (when
/// unmapping is allowed) or uses FALLOC_FL_ZERO_RANGE, and writes zeroes where the file system can do
/// neither. The virtual size is the file's length rounded up to a sector; bytes past the end read
/// as zeroes.
/// </summary>
internal sealed class RawDiskImage : IDiskImage, IFileImage
{
    private const int ZeroChunk = 1 << 20;
    private readonly IImageFile _file;

    public RawDiskImage(IImageFile file, bool readOnly)
    {
        _file = file;
        ReadOnly = readOnly;
        VirtualSize = ((ulong)file.Length + 511) & ~511UL;
    }

    public IImageFile File => _file;
    public string Path => _file.Path;
    public DiskFormat Format => DiskFormat.Raw;
    public ulong VirtualSize { get; }
    public bool ReadOnly { get; }

    public void Read(ulong offset, Span<byte> destination)
    {
        DiskRange.Check(this, offset, (ulong)destination.Length, write: false);
        _file.Read((long)offset, destination);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> source)
    {
        DiskRange.Check(this, offset, (ulong)source.Length, write: true);
        _file.Write((long)offset, source);
    }

    public void Flush() => _file.Sync();

    public void Discard(ulong offset, ulong length)
    {
        DiskRange.Check(this, offset, length, write: true);
        _file.PunchHole((long)offset, (long)length);
    }

    public void WriteZeroes(ulong offset, ulong length, bool mayUnmap)
    {
        DiskRange.Check(this, offset, length, write: true);
        if (mayUnmap && _file.PunchHole((long)offset, (long)length))
            return;
        if (_file.ZeroRange((long)offset, (long)length))
            return;
        var zeroes = new byte[(int)Math.Min(length, ZeroChunk)];
        for (ulong done = 0; done < length; done += (ulong)zeroes.Length)
            _file.Write((long)(offset + done), zeroes.AsSpan(0, (int)Math.Min((ulong)zeroes.Length, length - done)));
    }

    public void Dispose() => _file.Dispose();
}
