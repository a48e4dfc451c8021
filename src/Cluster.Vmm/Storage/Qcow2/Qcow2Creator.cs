using System.Buffers.Binary;
using System.Text;
using Cluster.Vmm.Storage.Files;

namespace Cluster.Vmm.Storage.Qcow2;

/// <summary>
/// Writes a new, empty version 3 image with 16-bit refcounts, laid out as qemu-img lays it out:
/// the header cluster (with the backing format extension and the backing file name), the refcount
/// table, the refcount blocks that count every metadata cluster, and a zeroed L1 table.
/// </summary>
internal static class Qcow2Creator
{
    private const int RefcountOrder = 4;

    public static void Write(IImageFile file, ulong size, int clusterBits, string? backingFile, DiskFormat? backingFormat)
    {
        ulong cs = 1UL << clusterBits;
        ulong l1Entries = Qcow2Header.L1EntriesFor(size, clusterBits);
        if (l1Entries * 8 > Qcow2Header.MaxL1Bytes)
            throw new VmmException($"{file.Path}: a {size}-byte disk needs more than {Qcow2Header.MaxL1Bytes >> 20} MiB of L1 table with {cs}-byte clusters; use bigger clusters", "disk-create");
        ulong l1Clusters = (l1Entries * 8 + cs - 1) / cs;
        ulong perBlock = cs * 8 >> RefcountOrder;
        ulong blocks = 1, tableClusters = 1;
        while (true)
        {
            ulong total = 1 + tableClusters + blocks + l1Clusters;
            ulong needBlocks = (total + perBlock - 1) / perBlock;
            ulong needTable = (needBlocks * 8 + cs - 1) / cs;
            if (needBlocks <= blocks && needTable <= tableClusters)
                break;
            blocks = Math.Max(blocks, needBlocks);
            tableClusters = Math.Max(tableClusters, needTable);
        }
        ulong clusters = 1 + tableClusters + blocks + l1Clusters;
        ulong tableOffset = cs, blocksOffset = (1 + tableClusters) * cs, l1Offset = (1 + tableClusters + blocks) * cs;
        var image = new byte[clusters * cs];

        var h = image.AsSpan();
        BinaryPrimitives.WriteUInt32BigEndian(h, Qcow2Header.Magic);
        BinaryPrimitives.WriteUInt32BigEndian(h[4..], 3);
        BinaryPrimitives.WriteUInt32BigEndian(h[20..], (uint)clusterBits);
        BinaryPrimitives.WriteUInt64BigEndian(h[24..], size);
        BinaryPrimitives.WriteUInt32BigEndian(h[36..], (uint)l1Entries);
        BinaryPrimitives.WriteUInt64BigEndian(h[40..], l1Offset);
        BinaryPrimitives.WriteUInt64BigEndian(h[48..], tableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(h[56..], (uint)tableClusters);
        BinaryPrimitives.WriteUInt32BigEndian(h[96..], RefcountOrder);
        BinaryPrimitives.WriteUInt32BigEndian(h[100..], Qcow2Header.CreatedLength);
        int at = Qcow2Header.CreatedLength;
        if (backingFile is not null)
        {
            byte[] format = Encoding.UTF8.GetBytes(backingFormat == DiskFormat.Raw ? "raw" : "qcow2");
            byte[] name = Encoding.UTF8.GetBytes(backingFile);
            if (name.Length > Qcow2Header.MaxBackingNameLength)
                throw new VmmException($"the backing file name '{backingFile}' is longer than {Qcow2Header.MaxBackingNameLength} bytes", "disk-create");
            int needed = at + 8 + ((format.Length + 7) & ~7) + 8 + name.Length;
            if ((ulong)needed > cs)
                throw new VmmException($"the backing file name '{backingFile}' does not fit in a {cs}-byte header cluster; use bigger clusters", "disk-create");
            BinaryPrimitives.WriteUInt32BigEndian(h[at..], Qcow2Header.ExtBackingFormat);
            BinaryPrimitives.WriteUInt32BigEndian(h[(at + 4)..], (uint)format.Length);
            format.CopyTo(h[(at + 8)..]);
            at += 8 + ((format.Length + 7) & ~7);
            at += 8; // the end-of-extensions marker: eight zero bytes
            name.CopyTo(h[at..]);
            BinaryPrimitives.WriteUInt64BigEndian(h[8..], (ulong)at);
            BinaryPrimitives.WriteUInt32BigEndian(h[16..], (uint)name.Length);
        }

        for (ulong b = 0; b < blocks; b++)
            BinaryPrimitives.WriteUInt64BigEndian(h[(int)(tableOffset + b * 8)..], blocksOffset + b * cs);
        for (ulong c = 0; c < clusters; c++)
            Qcow2Refcounts.WriteEntry(h.Slice((int)(blocksOffset + c / perBlock * cs), (int)cs), c % perBlock, 1, RefcountOrder);

        file.SetLength(0);
        file.Write(0, image);
        file.Sync();
    }
}
