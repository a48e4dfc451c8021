using System.Buffers.Binary;
using System.IO.Compression;
using Cluster.Vmm.Storage.Files;

namespace Cluster.Vmm.Storage.Qcow2;

/// <summary>
/// A qcow2 image (version 3 read and written, version 2 read). Guest clusters map through the L1
/// table to L2 tables to host clusters; unallocated clusters read from the backing file (or as
/// zeroes), zero clusters as zeroes, compressed clusters are inflated.
/// Writes allocate in an order that keeps the file consistent at every step (see README.md):
/// refcount up (reserved in batches), then the data (the whole cluster, copied from the old
/// contents or the backing file for a partial write) or the new L2 table; changed L2 and L1
/// entries wait in memory for a barrier (FLUSH, close, or 4096 changed sectors), which syncs
/// before writing them; the old cluster's reference is dropped last, after another sync. Clusters with a refcount above one (shared with an internal snapshot)
/// and compressed clusters are never written in place.
/// Reads run in parallel under a read lock; writes, discards and zeroing take the write lock.
/// </summary>
internal sealed class Qcow2Image : IDiskImage, IFileImage
{
    private const int MaxCachedL2Bytes = 32 << 20;
    /// <summary>Changed L2/L1 sectors kept before a barrier writes them.</summary>
    private const int MaxDirtySectors = 4096;

    private readonly IImageFile _file;
    private readonly Qcow2Header _header;
    private readonly ulong[] _l1;
    private readonly Qcow2Refcounts _refcounts;
    private readonly IDiskImage? _backing;
    private readonly Dictionary<ulong, ulong[]> _l2Cache = [];
    private readonly Dictionary<ulong, SortedSet<int>> _dirtyL2 = [];
    private readonly SortedSet<int> _dirtyL1 = [];
    private int _dirtySectors;
    private readonly ReaderWriterLockSlim _lock = new();
    private readonly int _cb;

    private Qcow2Image(IImageFile file, Qcow2Header header, ulong[] l1, Qcow2Refcounts refcounts,
        IReadOnlyList<Qcow2Snapshot> snapshots, IDiskImage? backing, bool readOnly)
    {
        _file = file;
        _header = header;
        _l1 = l1;
        _refcounts = refcounts;
        Snapshots = snapshots;
        _backing = backing;
        ReadOnly = readOnly;
        _cb = header.ClusterBits;
    }

    public IImageFile File => _file;
    public string Path => _file.Path;
    public DiskFormat Format => DiskFormat.Qcow2;
    public ulong VirtualSize => _header.Size;
    public bool ReadOnly { get; }

    /// <summary>The header as read at open.</summary>
    public Qcow2Header Header => _header;

    /// <summary>The backing image, or null.</summary>
    public IDiskImage? Backing => _backing;

    /// <summary>Internal snapshots in the file (kept, never changed).</summary>
    public IReadOnlyList<Qcow2Snapshot> Snapshots { get; }

    private ulong ClusterSize => 1UL << _cb;

    /// <summary>Reads and checks the metadata, opens the backing chain; the file is owned by the result.</summary>
    public static Qcow2Image Open(IImageFile file, bool readOnly, DiskCacheMode cache, BackingChain chain)
    {
        string path = file.Path;
        VmmException Bad(string problem) => new($"{path}: not a usable qcow2 image: {problem}", "disk-open");
        var header = Qcow2Header.Read(file);
        if (!readOnly)
        {
            if (header.Version < 3)
                throw Bad("version 2 images are opened read-only only (upgrade with: qemu-img amend -o compat=1.1)");
            if ((header.IncompatibleFeatures & Qcow2Header.IncompatDirty) != 0)
                throw Bad("dirty (refcounts may be stale after a crash with lazy refcounts): run qemu-img check -r all");
            if ((header.IncompatibleFeatures & Qcow2Header.IncompatCorrupt) != 0)
                throw Bad("marked corrupt by QEMU; it opens read-only only (repair with: qemu-img check -r all)");
        }
        var l1 = Qcow2Tables.Read(file, header.L1TableOffset, header.L1Size);
        long fileLength = file.Length;
        for (int i = 0; i < l1.Length; i++)
        {
            ulong offset = Qcow2Entry.HostOffset(l1[i]);
            if (offset == 0)
                continue;
            if (offset % header.ClusterSize != 0)
                throw Bad($"the L2 table of L1 entry {i} at offset 0x{offset:x} is not aligned to a cluster");
            if (offset + header.ClusterSize > (ulong)fileLength)
                throw Bad($"the L2 table of L1 entry {i} at offset 0x{offset:x} is outside the file ({fileLength} bytes)");
        }
        var refcounts = Qcow2Refcounts.Load(file, header, Bad);
        var (snapshots, snapshotTableLength) = Qcow2Snapshots.Read(file, header, Bad);
        Qcow2Layout.CheckNoOverlap(header, l1, refcounts, snapshots, snapshotTableLength, Bad);

        IDiskImage? backing = header.BackingFile is { } name ? chain.OpenBacking(path, name, header.BackingFormat, cache) : null;
        try
        {
            if (!readOnly && header.AutoclearFeatures != 0)
            {
                // Autoclear bits name extensions (persistent bitmaps, raw external data) this code does not
                // keep up to date: clearing them tells QEMU to ignore those extensions from now on.
                Qcow2HeaderSector.Update(file, s => BinaryPrimitives.WriteUInt64BigEndian(s[88..], 0));
            }
        }
        catch
        {
            backing?.Dispose();
            throw;
        }
        return new Qcow2Image(file, header, l1, refcounts, snapshots, backing, readOnly);
    }

    public void Read(ulong offset, Span<byte> destination)
    {
        DiskRange.Check(this, offset, (ulong)destination.Length, write: false);
        _lock.EnterReadLock();
        try
        {
            for (int at = 0; at < destination.Length;)
            {
                var (vcluster, inCluster, n) = Piece(offset + (ulong)at, destination.Length - at);
                ReadPiece(vcluster, inCluster, destination.Slice(at, n));
                at += n;
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> source)
    {
        DiskRange.Check(this, offset, (ulong)source.Length, write: true);
        _lock.EnterWriteLock();
        try
        {
            for (int at = 0; at < source.Length;)
            {
                var (vcluster, inCluster, n) = Piece(offset + (ulong)at, source.Length - at);
                WritePiece(vcluster, inCluster, source.Slice(at, n));
                at += n;
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public void Flush()
    {
        if (ReadOnly)
        {
            _file.Sync();
            return;
        }
        _lock.EnterWriteLock();
        try
        {
            Barrier();
            _file.Sync();
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>
    /// Makes the changed metadata durable in the safe order: fdatasync (the data, new L2 tables and
    /// raised refcounts reach the disk), then the changed L2 and L1 sectors, then (with another
    /// fdatasync) the queued reference drops.
    /// </summary>
    private void Barrier()
    {
        if (_dirtySectors > 0)
        {
            _file.Sync();
            foreach (var (table, sectors) in _dirtyL2)
                foreach (int first in sectors)
                    Qcow2Tables.WriteSector(_file, table, L2(table), first);
            foreach (int first in _dirtyL1)
                Qcow2Tables.WriteSector(_file, _header.L1TableOffset, _l1, first);
            _dirtyL2.Clear();
            _dirtyL1.Clear();
            _dirtySectors = 0;
        }
        _refcounts.ApplyReleases();
    }

    public void Discard(ulong offset, ulong length) => Zero(offset, length, unmap: true, partialAsZeroes: false);

    public void WriteZeroes(ulong offset, ulong length, bool mayUnmap) => Zero(offset, length, mayUnmap, partialAsZeroes: true);

    private void Zero(ulong offset, ulong length, bool unmap, bool partialAsZeroes)
    {
        DiskRange.Check(this, offset, length, write: true);
        _lock.EnterWriteLock();
        try
        {
            ulong end = offset + length;
            for (ulong at = offset; at < end;)
            {
                ulong vcluster = at >> _cb;
                ulong inCluster = at & (ClusterSize - 1);
                ulong n = Math.Min(ClusterSize - inCluster, end - at);
                if (n == ClusterSize)
                    ZeroCluster(vcluster, unmap);
                else if (partialAsZeroes)
                    WritePiece(vcluster, (int)inCluster, new byte[n]);
                at += n;
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>The guest cluster at <paramref name="position"/>, the offset in it, and how many of
    /// <paramref name="remaining"/> bytes fall in it.</summary>
    private (ulong Vcluster, int InCluster, int Length) Piece(ulong position, int remaining)
    {
        int inCluster = (int)(position & (ClusterSize - 1));
        return (position >> _cb, inCluster, (int)Math.Min(ClusterSize - (ulong)inCluster, (ulong)remaining));
    }

    private void ReadPiece(ulong vcluster, int inCluster, Span<byte> destination)
    {
        ulong entry = Lookup(vcluster);
        switch (Qcow2Entry.Kind(entry, _header.Version))
        {
            case Qcow2ClusterKind.Unallocated:
                ReadBacking((vcluster << _cb) + (ulong)inCluster, destination);
                break;
            case Qcow2ClusterKind.Zero:
                destination.Clear();
                break;
            case Qcow2ClusterKind.Compressed:
                Inflate(entry).AsSpan(inCluster, destination.Length).CopyTo(destination);
                break;
            default:
                _file.Read((long)DataOffset(entry, vcluster) + inCluster, destination);
                break;
        }
    }

    private void ReadBacking(ulong offset, Span<byte> destination)
    {
        if (_backing is null || offset >= _backing.VirtualSize)
        {
            destination.Clear();
            return;
        }
        int part = (int)Math.Min((ulong)destination.Length, _backing.VirtualSize - offset);
        _backing.Read(offset, destination[..part]);
        destination[part..].Clear();
    }

    /// <summary>The L2 entry of a guest cluster (0 where no L2 table maps it).</summary>
    private ulong Lookup(ulong vcluster)
    {
        ulong l1Index = vcluster >> (_cb - 3);
        ulong l2Offset = Qcow2Entry.HostOffset(_l1[l1Index]);
        return l2Offset == 0 ? 0 : L2(l2Offset)[vcluster & ((ClusterSize / 8) - 1)];
    }

    private ulong[] L2(ulong offset)
    {
        lock (_l2Cache)
        {
            if (_l2Cache.TryGetValue(offset, out var table))
                return table;
            table = Qcow2Tables.Read(_file, offset, ClusterSize / 8);
            if ((ulong)_l2Cache.Count * ClusterSize >= MaxCachedL2Bytes)
            {
                foreach (ulong clean in _l2Cache.Keys.Where(k => !_dirtyL2.ContainsKey(k)).ToList())
                    _l2Cache.Remove(clean);
            }
            _l2Cache[offset] = table;
            return table;
        }
    }

    private ulong DataOffset(ulong entry, ulong vcluster)
    {
        ulong host = Qcow2Entry.HostOffset(entry);
        if (host % ClusterSize != 0)
            throw new VmmException($"{Path}: corrupt image: the L2 entry of guest cluster {vcluster} points at unaligned offset 0x{host:x} (run qemu-img check)", "disk-io");
        return host;
    }

    private byte[] Inflate(ulong entry)
    {
        var (offset, length) = Qcow2Entry.CompressedRange(entry, _cb);
        var compressed = new byte[length];
        _file.Read((long)offset, compressed);
        var cluster = new byte[ClusterSize];
        try
        {
            using var inflater = new DeflateStream(new MemoryStream(compressed), CompressionMode.Decompress);
            inflater.ReadExactly(cluster);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new VmmException($"{Path}: compressed cluster at 0x{offset:x} ({length} bytes) does not inflate to a cluster: {e.Message}", "disk-io");
        }
        return cluster;
    }

    private void WritePiece(ulong vcluster, int inCluster, ReadOnlySpan<byte> data)
    {
        var (l2Offset, l2, index) = L2ForWrite(vcluster);
        ulong entry = l2[index];
        var kind = Qcow2Entry.Kind(entry, _header.Version);
        ulong host = Qcow2Entry.HostOffset(entry);
        bool owned = kind is Qcow2ClusterKind.Normal or Qcow2ClusterKind.Zero && host != 0 && IsOwned(entry);
        if (kind == Qcow2ClusterKind.Normal && owned)
        {
            _file.Write((long)DataOffset(entry, vcluster) + inCluster, data);
            if ((entry & Qcow2Entry.Copied) == 0)
                SetL2(l2Offset, l2, index, entry | Qcow2Entry.Copied);
            return;
        }
        var cluster = new byte[ClusterSize];
        if (data.Length < cluster.Length)
        {
            switch (kind)
            {
                case Qcow2ClusterKind.Unallocated:
                    ReadBacking(vcluster << _cb, cluster);
                    break;
                case Qcow2ClusterKind.Compressed:
                    Inflate(entry).CopyTo(cluster, 0);
                    break;
                case Qcow2ClusterKind.Normal:
                    _file.Read((long)DataOffset(entry, vcluster), cluster);
                    break;
            }
        }
        data.CopyTo(cluster.AsSpan(inCluster));
        if (kind == Qcow2ClusterKind.Zero && owned)
        {
            // A preallocated zero cluster of our own: fill it, then clear the zero flag.
            _file.Write((long)DataOffset(entry, vcluster), cluster);
            SetL2(l2Offset, l2, index, host | Qcow2Entry.Copied);
            return;
        }
        ulong fresh = _refcounts.Allocate();
        _file.Write((long)fresh, cluster);
        SetL2(l2Offset, l2, index, fresh | Qcow2Entry.Copied);
        Release(entry);
    }

    private void ZeroCluster(ulong vcluster, bool unmap)
    {
        if (_backing is null && Qcow2Entry.HostOffset(_l1[vcluster >> (_cb - 3)]) == 0)
            return;
        var (l2Offset, l2, index) = L2ForWrite(vcluster);
        ulong entry = l2[index];
        var kind = Qcow2Entry.Kind(entry, _header.Version);
        ulong host = Qcow2Entry.HostOffset(entry);
        bool keep = !unmap && kind is Qcow2ClusterKind.Normal or Qcow2ClusterKind.Zero && host != 0 && IsOwned(entry);
        ulong replacement = keep ? host | Qcow2Entry.Copied | Qcow2Entry.ZeroFlag
            : _backing is not null ? Qcow2Entry.ZeroFlag : 0;
        if (replacement == entry)
            return;
        SetL2(l2Offset, l2, index, replacement);
        if (!keep)
            Release(entry);
    }

    /// <summary>Whether a standard cluster is referenced only by the active image (so it may be written in place).</summary>
    private bool IsOwned(ulong entry) =>
        (entry & Qcow2Entry.Copied) != 0 || _refcounts.Get(Qcow2Entry.HostOffset(entry) >> _cb) == 1;

    /// <summary>Drops the reference an old L2 entry held (after the next barrier).</summary>
    private void Release(ulong entry)
    {
        ReleaseEntry(entry);
        if (_refcounts.ReleasesPressing)
            Barrier();
    }

    private void ReleaseEntry(ulong entry)
    {
        switch (Qcow2Entry.Kind(entry, _header.Version))
        {
            case Qcow2ClusterKind.Compressed:
                var (offset, length) = Qcow2Entry.CompressedRange(entry, _cb);
                _refcounts.Release(offset & ~511UL, length + (offset & 511));
                break;
            case Qcow2ClusterKind.Normal or Qcow2ClusterKind.Zero when Qcow2Entry.HostOffset(entry) != 0:
                _refcounts.Release(Qcow2Entry.HostOffset(entry));
                break;
        }
    }

    /// <summary>The L2 table that maps <paramref name="vcluster"/>, ready to be changed: allocated if
    /// missing, copied if shared with a snapshot.</summary>
    private (ulong Offset, ulong[] Table, int Index) L2ForWrite(ulong vcluster)
    {
        int l1Index = (int)(vcluster >> (_cb - 3));
        int index = (int)(vcluster & ((ClusterSize / 8) - 1));
        ulong l1Entry = _l1[l1Index];
        ulong offset = Qcow2Entry.HostOffset(l1Entry);
        if (offset != 0 && IsOwned(l1Entry))
        {
            if ((l1Entry & Qcow2Entry.Copied) == 0)
                SetL1(l1Index, offset | Qcow2Entry.Copied);
            return (offset, L2(offset), index);
        }
        ulong[] table;
        if (offset == 0)
        {
            table = new ulong[ClusterSize / 8];
        }
        else
        {
            table = (ulong[])L2(offset).Clone();
            for (int i = 0; i < table.Length; i++)
                table[i] &= ~Qcow2Entry.Copied;
        }
        ulong fresh = _refcounts.Allocate();
        Qcow2Tables.Write(_file, fresh, table, ClusterSize);
        lock (_l2Cache)
            _l2Cache[fresh] = table;
        SetL1(l1Index, fresh | Qcow2Entry.Copied);
        if (offset != 0)
        {
            _refcounts.Release(offset);
            if (_refcounts.ReleasesPressing)
                Barrier();
        }
        return (fresh, table, index);
    }

    /// <summary>Changes an L2 entry in memory; the sector is written at the next barrier, after the
    /// data it points at is durable.</summary>
    private void SetL2(ulong l2Offset, ulong[] table, int index, ulong entry)
    {
        table[index] = entry;
        if (!_dirtyL2.TryGetValue(l2Offset, out var sectors))
            _dirtyL2[l2Offset] = sectors = [];
        if (sectors.Add(index & ~63))
            CountDirty();
    }

    private void CountDirty()
    {
        if (++_dirtySectors >= MaxDirtySectors)
            Barrier();
    }

    /// <summary>Applies queued releases and returns unused reserved clusters, so that a closed image
    /// has no leaks. A failure here leaves leaked clusters at worst: it is not worth an exception
    /// out of Dispose.</summary>
    private void Close()
    {
        _lock.EnterWriteLock();
        try
        {
            Barrier();
            _refcounts.ReturnReserved();
            _file.Sync();
        }
        catch (VmmException)
        {
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Changes an L1 entry in memory; written at the next barrier, after the L2 table it
    /// points at is durable.</summary>
    private void SetL1(int index, ulong entry)
    {
        _l1[index] = entry;
        if (_dirtyL1.Add(index & ~63))
            CountDirty();
    }

    public void Dispose()
    {
        if (!ReadOnly)
            Close();
        _backing?.Dispose();
        _file.Dispose();
        _lock.Dispose();
    }
}
