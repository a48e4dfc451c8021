using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Cluster.Vmm.Native;

namespace Cluster.Vmm.Storage.Files;

/// <summary>
/// A host file through pread/pwrite (<see cref="RandomAccess"/>), safe for concurrent calls. With
/// <see cref="DiskCacheMode.None"/> the file is opened O_DIRECT and every transfer goes through an
/// aligned bounce buffer, widened to whole <see cref="DirectAlignment"/> blocks for reads; writes
/// must then be whole 512-byte sectors (the formats only write such).
/// </summary>
internal sealed class PosixImageFile : IImageFile
{
    /// <summary>The alignment of O_DIRECT buffers, offsets and lengths.</summary>
    public const int DirectAlignment = 512;
    private const int BufferAlignment = 4096;

    private readonly SafeFileHandle _handle;
    private readonly bool _direct;
    private bool _releaseLocks;

    private PosixImageFile(string path, SafeFileHandle handle, bool direct)
    {
        Path = path;
        _handle = handle;
        _direct = direct;
    }

    public string Path { get; }

    public long Length => RandomAccess.GetLength(_handle);

    public FileIdentity Identity
    {
        get
        {
            var st = Stat();
            return new FileIdentity(BitConverter.ToUInt64(st, Libc.StatDevOffset), BitConverter.ToUInt64(st, Libc.StatInoOffset));
        }
    }

    public long AllocatedBytes => BitConverter.ToInt64(Stat(), Libc.StatBlocksOffset) * 512;

    private unsafe byte[] Stat()
    {
        var buffer = new byte[Libc.StatBufferSize];
        int errno = WithFd(_handle, fd =>
        {
            // SAFETY: the buffer is pinned for the call and has the size fstat writes (see Libc.StatBufferSize).
            fixed (byte* p = buffer)
                return Libc.fstat(fd, p) == 0 ? 0 : Marshal.GetLastPInvokeError();
        });
        if (errno != 0)
            throw new VmmException($"{Path}: fstat failed (errno {errno})", "disk-io", errno);
        return buffer;
    }

    /// <summary>The open handle (for the image lock).</summary>
    public SafeFileHandle Handle => _handle;

    /// <summary>Opens an existing file; errors name the file.</summary>
    public static PosixImageFile Open(string path, bool readOnly, DiskCacheMode cache) =>
        Open(path, readOnly, cache, FileMode.Open);

    /// <summary>Opens a file for writing, creating it if it does not exist (not truncated).</summary>
    public static PosixImageFile OpenOrCreate(string path) =>
        Open(path, readOnly: false, DiskCacheMode.Writeback, FileMode.OpenOrCreate);

    /// <summary>A file over <paramref name="handle"/>, a duplicate of a descriptor that outlives this file (a
    /// <see cref="DiskFiles"/> entry): it owns the duplicate.</summary>
    public static PosixImageFile FromDuplicate(string path, SafeFileHandle handle, DiskCacheMode cache) => Wrap(path, handle, cache);

    /// <summary>
    /// Releases the image locks when this file is disposed: they belong to the open file description, which a
    /// duplicate shares with a descriptor that stays open, so closing this one alone would keep them.
    /// </summary>
    public void ReleaseLocksOnDispose() => _releaseLocks = true;

    private static PosixImageFile Open(string path, bool readOnly, DiskCacheMode cache, FileMode mode)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, mode, readOnly ? FileAccess.Read : FileAccess.ReadWrite, FileShare.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VmmException($"cannot open {path}: {e.Message}", "disk-open");
        }
        return Wrap(path, handle, cache);
    }

    private static PosixImageFile Wrap(string path, SafeFileHandle handle, DiskCacheMode cache)
    {
        if (cache == DiskCacheMode.None)
        {
            try
            {
                EnableDirect(handle, path);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }
        return new PosixImageFile(path, handle, cache == DiskCacheMode.None);
    }

    private static void EnableDirect(SafeFileHandle handle, string path)
    {
        int errno = WithFd(handle, fd =>
        {
            int flags = Libc.fcntl_int(fd, Libc.F_GETFL, 0);
            if (flags < 0 || Libc.fcntl_int(fd, Libc.F_SETFL, flags | Libc.O_DIRECT) < 0)
                return Marshal.GetLastPInvokeError();
            return ProbeDirectRead(handle);
        });
        if (errno != 0)
            throw new VmmException(
                $"cannot open {path} with cache=none: the file system refuses O_DIRECT (errno {errno}; tmpfs does); use cache=writeback",
                "disk-open", errno);
    }

    /// <summary>Some file systems accept the O_DIRECT flag and refuse the reads: try one.</summary>
    private static int ProbeDirectRead(SafeFileHandle handle)
    {
        using var probe = new AlignedBuffer(DirectAlignment, BufferAlignment);
        try
        {
            RandomAccess.Read(handle, probe.Span, 0);
            return 0;
        }
        catch (IOException)
        {
            return Libc.EINVAL;
        }
    }

    public void Read(long offset, Span<byte> destination)
    {
        if (!_direct)
        {
            ReadAll(offset, destination);
            return;
        }
        if (CanGoDirect(offset, destination))
        {
            ReadAll(offset, destination);
            return;
        }
        long start = offset & ~(long)(DirectAlignment - 1);
        long end = (offset + destination.Length + DirectAlignment - 1) & ~(long)(DirectAlignment - 1);
        using var bounce = new AlignedBuffer(checked((int)(end - start)), BufferAlignment);
        ReadAll(start, bounce.Span);
        bounce.Span.Slice((int)(offset - start), destination.Length).CopyTo(destination);
    }

    /// <summary>O_DIRECT can use the caller's buffer as it is: the file range is in whole sectors and
    /// the memory is aligned as the kernel wants (guest pages handed over by the block device are).</summary>
    private static unsafe bool CanGoDirect(long offset, ReadOnlySpan<byte> buffer)
    {
        if ((offset | (long)buffer.Length) % DirectAlignment != 0) return false;
        // SAFETY: the pointer is only inspected for its alignment, never dereferenced.
        fixed (byte* p = buffer) return ((nuint)p & (nuint)(BufferAlignment - 1)) == 0;
    }

    private void ReadAll(long offset, Span<byte> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            int n;
            try
            {
                n = RandomAccess.Read(_handle, destination[done..], offset + done);
            }
            catch (IOException e)
            {
                throw new VmmException($"{Path}: read of {destination.Length} bytes at {offset} failed: {e.Message}", "disk-io", 0, e);
            }
            if (n == 0)
            {
                destination[done..].Clear();
                return;
            }
            done += n;
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        if (!_direct)
        {
            WriteAll(offset, source);
            return;
        }
        if ((offset | (long)source.Length) % DirectAlignment != 0)
            throw new VmmException($"{Path}: a write of {source.Length} bytes at {offset} is not sector aligned (O_DIRECT)", "disk-io");
        if (CanGoDirect(offset, source))
        {
            WriteAll(offset, source);
            return;
        }
        using var bounce = new AlignedBuffer(source.Length, BufferAlignment);
        source.CopyTo(bounce.Span);
        WriteAll(offset, bounce.Span);
    }

    private void WriteAll(long offset, ReadOnlySpan<byte> source)
    {
        try
        {
            RandomAccess.Write(_handle, source, offset);
        }
        catch (IOException e)
        {
            throw new VmmException($"{Path}: write of {source.Length} bytes at {offset} failed: {e.Message}", "disk-io", 0, e);
        }
    }

    public void SetLength(long length)
    {
        try
        {
            RandomAccess.SetLength(_handle, length);
        }
        catch (IOException e)
        {
            throw new VmmException($"{Path}: cannot set the length to {length}: {e.Message}", "disk-io", 0, e);
        }
    }

    public void Sync()
    {
        int errno = WithFd(_handle, fd => Libc.fdatasync(fd) == 0 ? 0 : Marshal.GetLastPInvokeError());
        if (errno != 0)
            throw new VmmException($"{Path}: fdatasync failed (errno {errno})", "disk-flush", errno);
    }

    public bool PunchHole(long offset, long length) =>
        Fallocate(Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, offset, length);

    public bool ZeroRange(long offset, long length) =>
        Fallocate(Libc.FALLOC_FL_ZERO_RANGE | Libc.FALLOC_FL_KEEP_SIZE, offset, length);

    private bool Fallocate(int mode, long offset, long length)
    {
        int errno = WithFd(_handle, fd => Libc.fallocate(fd, mode, offset, length) == 0 ? 0 : Marshal.GetLastPInvokeError());
        if (errno is 0)
            return true;
        if (errno is Libc.EOPNOTSUPP or Libc.EINVAL or 38 /* ENOSYS */)
            return false;
        throw new VmmException($"{Path}: fallocate(mode {mode:x}) of {length} bytes at {offset} failed (errno {errno})", "disk-io", errno);
    }

    /// <summary>Runs <paramref name="call"/> with the raw fd, holding a reference on the handle.</summary>
    public static T WithFd<T>(SafeFileHandle handle, Func<int, T> call)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return call((int)handle.DangerousGetHandle());
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    public void Dispose()
    {
        if (_releaseLocks && !_handle.IsClosed)
            ImageLock.Release(_handle);
        _handle.Dispose();
    }
}
