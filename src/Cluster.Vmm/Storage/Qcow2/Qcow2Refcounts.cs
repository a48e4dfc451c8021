using System.Buffers.Binary;
using Cluster.Vmm.Storage.Files;

namespace Cluster.Vmm.Storage.Qcow2;

/// <summary>
/// The refcount table and its refcount blocks: how many references each host cluster has (0 =
/// free). Refcounts of any width (refcount_order 0..6) are read and written, one 512-byte sector
/// at a time. Clusters are reserved in batches (refcounts raised and written at once); the image
/// syncs before any L2 or L1 entry that uses them is written. Dropped references are queued and
/// applied only after an fdatasync has made the change that dropped them durable. A crash thus
/// leaks clusters at worst, never shares one.
/// The table grows when a cluster past its reach is needed: new refcount blocks and the new table
/// are written first, then the header is switched to the new table in one sector write, then the
/// old table is released (queued like any dropped reference).
/// Not thread-safe: the image calls it under its write lock.
/// </summary>
internal sealed class Qcow2Refcounts
{
    private readonly IImageFile _file;
    private readonly int _clusterBits;
    private readonly int _order;
    private readonly Dictionary<ulong, byte[]> _blocks = [];
    private ulong[] _table;
    private readonly Queue<ulong> _reserved = new();
    private readonly List<(ulong Offset, ulong Length)> _released = [];
    private ulong _freeHint = 1;

    /// <summary>Clusters reserved per fdatasync.</summary>
    public const int ReserveBatch = 32;
    /// <summary>Queued releases that ask for a barrier.</summary>
    private const int MaxReleased = 256;

    private Qcow2Refcounts(IImageFile file, int clusterBits, int order, ulong tableOffset, ulong[] table)
    {
        _file = file;
        _clusterBits = clusterBits;
        _order = order;
        TableOffset = tableOffset;
        _table = table;
    }

    /// <summary>Host offset of the refcount table.</summary>
    public ulong TableOffset { get; private set; }

    /// <summary>Host offsets of the refcount blocks (0 where a block is not allocated).</summary>
    public IReadOnlyList<ulong> Table => _table;

    /// <summary>Clusters the table occupies.</summary>
    public ulong TableClusters => ((ulong)_table.Length * 8 + ClusterSize - 1) >> _clusterBits;

    private ulong ClusterSize => 1UL << _clusterBits;
    private int Bits => 1 << _order;
    /// <summary>Refcounts in one block.</summary>
    public ulong PerBlock => (ClusterSize * 8) >> _order;

    /// <summary>Reads the table and checks that every block it names is aligned and inside the file.</summary>
    public static Qcow2Refcounts Load(IImageFile file, Qcow2Header header, Func<string, VmmException> bad)
    {
        ulong bytes = header.RefcountTableClusters * header.ClusterSize;
        var raw = new byte[bytes];
        file.Read((long)header.RefcountTableOffset, raw);
        var table = new ulong[bytes / 8];
        long length = file.Length;
        for (int i = 0; i < table.Length; i++)
        {
            ulong e = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
            ulong offset = e & ~(header.ClusterSize - 1);
            if ((e & (header.ClusterSize - 1)) != 0)
                throw bad($"refcount block {i} at offset 0x{e:x} is not aligned to a cluster");
            if (offset != 0 && offset + header.ClusterSize > (ulong)length)
                throw bad($"refcount block {i} at offset 0x{offset:x} is outside the file ({length} bytes)");
            table[i] = offset;
        }
        return new Qcow2Refcounts(file, header.ClusterBits, header.RefcountOrder, header.RefcountTableOffset, table);
    }

    /// <summary>The refcount of host cluster <paramref name="cluster"/> (an index).</summary>
    public ulong Get(ulong cluster)
    {
        ulong b = cluster / PerBlock;
        if (b >= (ulong)_table.Length || _table[b] == 0)
            return 0;
        return ReadEntry(Block(_table[b]), cluster % PerBlock);
    }

    /// <summary>Drops one reference from each cluster of the host range now; a cluster at 0 becomes free.</summary>
    private void Decrement(ulong hostOffset, ulong length = 0)
    {
        foreach (ulong c in Clusters(hostOffset, length))
        {
            ulong r = Get(c);
            if (r == 0)
                throw new VmmException($"{_file.Path}: refcount of cluster {c} is already 0 (the image is corrupt: run qemu-img check)", "disk-io");
            Set(c, r - 1);
            if (r == 1 && c < _freeHint)
                _freeHint = c;
        }
    }

    private IEnumerable<ulong> Clusters(ulong hostOffset, ulong length)
    {
        ulong first = hostOffset >> _clusterBits;
        ulong last = length == 0 ? first : (hostOffset + length - 1) >> _clusterBits;
        for (ulong c = first; c <= last; c++)
            yield return c;
    }

    /// <summary>A cluster for new data or metadata, its refcount already 1 in the file (durable at the
    /// next sync, which comes before anything that points at it is written); its host offset.</summary>
    public ulong Allocate()
    {
        if (_reserved.Count == 0)
        {
            var sectors = new SortedSet<(ulong Block, int Sector)>();
            for (int i = 0; i < ReserveBatch; i++)
                _reserved.Enqueue(TakeFree(sectors));
            foreach (var (block, sector) in sectors)
                _file.Write((long)block + sector, Block(block).AsSpan(sector, 512));
        }
        return _reserved.Dequeue() << _clusterBits;
    }

    /// <summary>Drops one reference from each cluster of the range once the change that dropped it is
    /// durable: at <see cref="ApplyReleases"/>, which the image calls after writing its changes.</summary>
    public void Release(ulong hostOffset, ulong length = 0) => _released.Add((hostOffset, length));

    /// <summary>Whether so many releases wait that the image should make its changes durable.</summary>
    public bool ReleasesPressing => _released.Count >= MaxReleased;

    /// <summary>fdatasync (the changes that dropped the references are then durable), then applies
    /// the queued releases.</summary>
    public void ApplyReleases()
    {
        if (_released.Count == 0)
            return;
        _file.Sync();
        foreach (var (offset, length) in _released)
            Decrement(offset, length);
        _released.Clear();
    }

    /// <summary>Frees the reserved clusters nothing uses (on close).</summary>
    public void ReturnReserved()
    {
        while (_reserved.TryDequeue(out ulong c))
            Decrement(c << _clusterBits);
    }

    /// <summary>Finds a free cluster and sets its refcount to 1 in memory (the sector to write is
    /// added to <paramref name="sectors"/>); returns its index.</summary>
    private ulong TakeFree(SortedSet<(ulong Block, int Sector)> sectors)
    {
        for (ulong c = Math.Max(_freeHint, 1); ; c++)
        {
            ulong b = c / PerBlock;
            if (b >= (ulong)_table.Length)
            {
                Grow(c);
                continue;
            }
            if (_table[b] == 0)
            {
                CreateBlockAt(c, b);
                continue;
            }
            if (Get(c) == 0)
            {
                sectors.Add(Set(c, 1, writeThrough: false));
                _freeHint = c + 1;
                return c;
            }
        }
    }

    private (ulong Block, int Sector) Set(ulong cluster, ulong value, bool writeThrough = true)
    {
        ulong b = cluster / PerBlock;
        if (b >= (ulong)_table.Length || _table[b] == 0)
            throw new InvalidOperationException($"refcount block for cluster {cluster} is not allocated");
        ulong blockOffset = _table[b];
        var block = Block(blockOffset);
        ulong index = cluster % PerBlock;
        WriteEntry(block, index, value);
        int sector = (int)((index * (ulong)Bits / 8) & ~511UL);
        if (writeThrough)
            _file.Write((long)blockOffset + sector, block.AsSpan(sector, 512));
        return (blockOffset, sector);
    }

    /// <summary>A new refcount block for block index <paramref name="b"/>, placed in the cluster it
    /// describes first (free, since no block described it): it counts itself.</summary>
    private void CreateBlockAt(ulong cluster, ulong b)
    {
        var block = new byte[ClusterSize];
        WriteEntry(block, cluster % PerBlock, 1);
        ulong offset = cluster << _clusterBits;
        _file.Write((long)offset, block);
        _file.Sync();
        _blocks[offset] = block;
        _table[b] = offset;
        WriteTableSector(TableOffset, _table, (int)b);
    }

    /// <summary>Moves the refcount table to a bigger one at cluster <paramref name="start"/> (free:
    /// past the old table's reach), with the refcount blocks that describe the new clusters in front of it.</summary>
    private void Grow(ulong start)
    {
        ulong b0 = start / PerBlock;
        ulong cap = (ulong)_table.Length;
        ulong blocks = 1, tableClusters;
        while (true)
        {
            ulong entries = Math.Max(cap * 2, b0 + blocks + 1);
            tableClusters = (entries * 8 + ClusterSize - 1) >> _clusterBits;
            ulong end = start + blocks + tableClusters;
            ulong need = (end + PerBlock - 1) / PerBlock - b0;
            if (need <= blocks)
                break;
            blocks = need;
        }
        if (tableClusters * ClusterSize > Qcow2Header.MaxRefcountTableBytes)
            throw new VmmException($"{_file.Path}: the refcount table would pass {Qcow2Header.MaxRefcountTableBytes >> 20} MiB", "disk-io");
        ulong used = blocks + tableClusters;
        var newTable = new ulong[tableClusters * ClusterSize / 8];
        _table.CopyTo(newTable, 0);
        for (ulong k = 0; k < blocks; k++)
        {
            var block = new byte[ClusterSize];
            ulong first = (b0 + k) * PerBlock;
            for (ulong c = Math.Max(first, start); c < Math.Min(first + PerBlock, start + used); c++)
                WriteEntry(block, c - first, 1);
            ulong offset = (start + k) << _clusterBits;
            _file.Write((long)offset, block);
            _blocks[offset] = block;
            newTable[b0 + k] = offset;
        }
        ulong tableOffset = (start + blocks) << _clusterBits;
        var raw = new byte[tableClusters * ClusterSize];
        for (int i = 0; i < newTable.Length; i++)
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(i * 8), newTable[i]);
        _file.Write((long)tableOffset, raw);

        ulong oldOffset = TableOffset, oldClusters = TableClusters;
        _file.Sync();
        Qcow2HeaderSector.Update(_file, sector =>
        {
            BinaryPrimitives.WriteUInt64BigEndian(sector[48..], tableOffset);
            BinaryPrimitives.WriteUInt32BigEndian(sector[56..], (uint)tableClusters);
        });
        _table = newTable;
        TableOffset = tableOffset;
        Release(oldOffset, oldClusters << _clusterBits);
    }

    private void WriteTableSector(ulong tableOffset, ulong[] table, int index) =>
        Qcow2Tables.WriteSector(_file, tableOffset, table, index);

    private byte[] Block(ulong offset)
    {
        if (_blocks.TryGetValue(offset, out var block))
            return block;
        block = new byte[ClusterSize];
        _file.Read((long)offset, block);
        if (_blocks.Count > 4096)
            _blocks.Clear();
        _blocks[offset] = block;
        return block;
    }

    /// <summary>Reads refcount <paramref name="index"/> of a block with 2^order-bit entries.</summary>
    public static ulong ReadEntry(ReadOnlySpan<byte> block, ulong index, int order)
    {
        int i = (int)index;
        return order switch
        {
            < 3 => (ulong)((block[i >> (3 - order)] >> ((i & ((8 >> order) - 1)) << order)) & ((1 << (1 << order)) - 1)),
            3 => block[i],
            4 => BinaryPrimitives.ReadUInt16BigEndian(block[(i * 2)..]),
            5 => BinaryPrimitives.ReadUInt32BigEndian(block[(i * 4)..]),
            _ => BinaryPrimitives.ReadUInt64BigEndian(block[(i * 8)..]),
        };
    }

    /// <summary>Writes refcount <paramref name="index"/> of a block with 2^order-bit entries.</summary>
    public static void WriteEntry(Span<byte> block, ulong index, ulong value, int order)
    {
        int i = (int)index;
        switch (order)
        {
            case < 3:
                int bits = 1 << order, shift = (i & ((8 >> order) - 1)) << order, mask = ((1 << bits) - 1) << shift;
                ref byte b = ref block[i >> (3 - order)];
                b = (byte)((b & ~mask) | (((int)value << shift) & mask));
                break;
            case 3: block[i] = (byte)value; break;
            case 4: BinaryPrimitives.WriteUInt16BigEndian(block[(i * 2)..], (ushort)value); break;
            case 5: BinaryPrimitives.WriteUInt32BigEndian(block[(i * 4)..], (uint)value); break;
            default: BinaryPrimitives.WriteUInt64BigEndian(block[(i * 8)..], value); break;
        }
    }

    private ulong ReadEntry(byte[] block, ulong index) => ReadEntry(block, index, _order);
    private void WriteEntry(byte[] block, ulong index, ulong value) => WriteEntry(block, index, value, _order);
}
