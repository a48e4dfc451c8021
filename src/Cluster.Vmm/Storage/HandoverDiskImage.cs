namespace Cluster.Vmm.Storage;

/// <summary>
/// A disk image that can be handed from one VMM to another during live migration, as QEMU
/// inactivates and activates its images: only the active side has the file open (and locked for
/// writing), so the source and the target never write it at once and the target reads metadata the
/// source wrote last. The source deactivates once its guest is paused and its requests drained
/// (flush, close: the lock is released); the target, created inactive (the file only checked to
/// exist), activates before its guest resumes (open, lock, and check that the image has the size
/// the source's device had); a failed migration activates the source's copy again.
/// While inactive every I/O call is refused (the machine is not running then).
/// </summary>
public sealed class HandoverDiskImage : IDiskImage
{
    private readonly object _gate = new();
    private readonly DiskFormat? _format;
    private readonly DiskCacheMode _cache;
    private readonly DiskFiles? _files;
    private IDiskImage? _inner;
    private DiskFormat _lastFormat;
    private ulong _lastSize;
    private bool _disposed;

    /// <summary>Opens <paramref name="path"/> now (<paramref name="active"/>) or only checks that it exists; over the
    /// descriptors of <paramref name="files"/> when given (which must outlive this image), never by path.</summary>
    /// <exception cref="VmmException">the image cannot be opened, or (inactive) the file is not there.</exception>
    public HandoverDiskImage(string path, DiskFormat? format, bool readOnly, DiskCacheMode cache, bool active, DiskFiles? files = null)
    {
        Path = path;
        _format = format;
        ReadOnly = readOnly;
        _cache = cache;
        _files = files;
        if (active) Activate();
        else if (files is not null ? !files.Contains(path) : !File.Exists(path))
            throw new VmmException(files is null ? $"disk image {path} is not visible on this host" : $"disk image {path} was not passed to this process", "disk-open");
    }

    /// <inheritdoc />
    public string Path { get; }

    /// <inheritdoc />
    public bool ReadOnly { get; }

    /// <summary>Whether this side has the image open.</summary>
    public bool IsActive { get { lock (_gate) return _inner is not null; } }

    /// <summary>The virtual size the image must have once activated (set from the source's device state).</summary>
    public ulong? ExpectedVirtualSize { get; set; }

    /// <inheritdoc />
    public DiskFormat Format { get { lock (_gate) return _inner?.Format ?? _lastFormat; } }

    /// <inheritdoc />
    public ulong VirtualSize { get { lock (_gate) return _inner?.VirtualSize ?? ExpectedVirtualSize ?? _lastSize; } }

    /// <summary>Opens and locks the image (nothing when already active).</summary>
    /// <exception cref="VmmException">it cannot be opened or locked, or its size is not the expected one.</exception>
    public void Activate()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_inner is not null) return;
            var image = DiskImage.Open(Path, _format, ReadOnly, _cache, _files);
            if (ExpectedVirtualSize is ulong expected && image.VirtualSize != expected)
            {
                image.Dispose();
                throw new VmmException($"disk image {Path} is {image.VirtualSize} bytes here, {expected} on the source: not the same disk", "disk-open");
            }
            _inner = image;
            _lastFormat = image.Format;
            _lastSize = image.VirtualSize;
        }
    }

    /// <summary>Flushes and closes the image, releasing its lock (nothing when inactive).</summary>
    /// <exception cref="VmmException">the flush failed (the image stays active).</exception>
    public void Deactivate()
    {
        lock (_gate)
        {
            if (_inner is null) return;
            if (!ReadOnly) _inner.Flush();
            _inner.Dispose();
            _inner = null;
        }
    }

    private IDiskImage Active
    {
        get
        {
            lock (_gate) return _inner ?? throw new VmmException($"disk image {Path} is not active on this host (a migration holds it elsewhere)", "disk-io");
        }
    }

    /// <inheritdoc />
    public void Read(ulong offset, Span<byte> destination) => Active.Read(offset, destination);

    /// <inheritdoc />
    public void Write(ulong offset, ReadOnlySpan<byte> source) => Active.Write(offset, source);

    /// <inheritdoc />
    public void Flush() => Active.Flush();

    /// <inheritdoc />
    public void Discard(ulong offset, ulong length) => Active.Discard(offset, length);

    /// <inheritdoc />
    public void WriteZeroes(ulong offset, ulong length, bool mayUnmap) => Active.WriteZeroes(offset, length, mayUnmap);

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _inner?.Dispose();
            _inner = null;
        }
    }
}
