using System.Buffers.Binary;
using Cluster.Vmm.Storage.Files;

namespace Cluster.Vmm.Storage.Qcow2;

/// <summary>An internal snapshot's L1 table.</summary>
internal readonly record struct Qcow2Snapshot(string Id, string Name, ulong L1Offset, uint L1Size);

/// <summary>
/// The snapshot table, read to know which clusters internal snapshots hold. Snapshots are kept as
/// they are: their clusters have refcounts above one where they share with the active image, so
/// the active image copies before writing and never frees them.
/// </summary>
internal static class Qcow2Snapshots
{
    private const int FixedLength = 40;
    private const ulong MaxTableBytes = 64 << 20;

    /// <summary>Reads the snapshots and the table's length in bytes; throws (via <paramref name="bad"/>) on a malformed table.</summary>
    public static (IReadOnlyList<Qcow2Snapshot> Snapshots, ulong TableLength) Read(IImageFile file, Qcow2Header header, Func<string, VmmException> bad)
    {
        var list = new List<Qcow2Snapshot>();
        ulong at = header.SnapshotsOffset;
        long fileLength = file.Length;
        var fixedPart = new byte[FixedLength];
        for (uint i = 0; i < header.NbSnapshots; i++)
        {
            if (at + FixedLength > (ulong)fileLength || at - header.SnapshotsOffset > MaxTableBytes)
                throw bad($"snapshot {i} at offset {at} is outside the file (truncated snapshot table)");
            file.Read((long)at, fixedPart);
            ulong l1Offset = BinaryPrimitives.ReadUInt64BigEndian(fixedPart);
            uint l1Size = BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(8));
            int idLength = BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(12));
            int nameLength = BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(14));
            uint extraLength = BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(36));
            if (extraLength > 1024)
                throw bad($"snapshot {i} has {extraLength} bytes of extra data (absurd)");
            ulong strings = at + FixedLength + extraLength;
            var text = new byte[idLength + nameLength];
            file.Read((long)strings, text);
            string id = System.Text.Encoding.UTF8.GetString(text, 0, idLength);
            string name = System.Text.Encoding.UTF8.GetString(text, idLength, nameLength);
            if ((ulong)l1Size * 8 > Qcow2Header.MaxL1Bytes)
                throw bad($"snapshot '{name}' has an absurd l1_size {l1Size}");
            if (l1Offset % header.ClusterSize != 0)
                throw bad($"snapshot '{name}' has its L1 table at unaligned offset {l1Offset}");
            Qcow2Header.CheckTable($"snapshot '{name}' L1 table", l1Offset, (ulong)l1Size * 8, fileLength, bad, allowEmpty: l1Size == 0);
            list.Add(new Qcow2Snapshot(id, name, l1Offset, l1Size));
            at = (strings + (ulong)text.Length + 7) & ~7UL;
        }
        return (list, at - header.SnapshotsOffset);
    }
}
