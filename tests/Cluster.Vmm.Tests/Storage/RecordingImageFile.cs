using Cluster.Vmm.Storage.Files;

namespace Cluster.Vmm.Tests.Storage;

/// <summary>An image file layer that records, in order, every write, sync and hole punch that
/// reaches the file below it.</summary>
internal sealed class RecordingImageFile(IImageFile inner) : IImageFile
{
    private readonly List<string> _log = [];

    /// <summary>What reached the file: "write OFFSET+LENGTH", "sync", "punch OFFSET+LENGTH", "zero ...", "mark TEXT".</summary>
    public IReadOnlyList<string> Log
    {
        get
        {
            lock (_log)
                return _log.ToArray();
        }
    }

    public void Mark(string text) => Add($"mark {text}");

    private void Add(string entry)
    {
        lock (_log)
            _log.Add(entry);
    }

    public string Path => inner.Path;
    public long Length => inner.Length;
    public FileIdentity Identity => inner.Identity;
    public long AllocatedBytes => inner.AllocatedBytes;
    public void Read(long offset, Span<byte> destination) => inner.Read(offset, destination);

    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        inner.Write(offset, source);
        Add($"write {offset}+{source.Length}");
    }

    public void SetLength(long length)
    {
        inner.SetLength(length);
        Add($"length {length}");
    }

    public void Sync()
    {
        inner.Sync();
        Add("sync");
    }

    public bool PunchHole(long offset, long length)
    {
        bool done = inner.PunchHole(offset, length);
        Add($"punch {offset}+{length}");
        return done;
    }

    public bool ZeroRange(long offset, long length)
    {
        bool done = inner.ZeroRange(offset, length);
        Add($"zero {offset}+{length}");
        return done;
    }

    public void Dispose() => inner.Dispose();
}
