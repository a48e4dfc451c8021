using System.Buffers.Binary;
using Cluster.Vmm.Storage.Files;

namespace Cluster.Vmm.Storage.Qcow2;

/// <summary>Reading and writing tables of big-endian 64-bit entries (L1, L2, refcount tables).</summary>
internal static class Qcow2Tables
{
    /// <summary>Reads <paramref name="count"/> entries at <paramref name="offset"/>.</summary>
    public static ulong[] Read(IImageFile file, ulong offset, ulong count)
    {
        var raw = new byte[count * 8];
        file.Read((long)offset, raw);
        var table = new ulong[count];
        for (int i = 0; i < table.Length; i++)
            table[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
        return table;
    }

    /// <summary>Writes the whole table (zero-padded to <paramref name="bytes"/>).</summary>
    public static void Write(IImageFile file, ulong offset, ulong[] table, ulong bytes)
    {
        var raw = new byte[Math.Max(bytes, (ulong)table.Length * 8)];
        for (int i = 0; i < table.Length; i++)
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(i * 8), table[i]);
        file.Write((long)offset, raw);
    }

    /// <summary>Writes the 512-byte sector of the table that holds entry <paramref name="index"/>
    /// (entries past the table's end are written as zeroes: tables own whole clusters).</summary>
    public static void WriteSector(IImageFile file, ulong tableOffset, ulong[] table, int index)
    {
        int first = index & ~63;
        Span<byte> sector = stackalloc byte[512];
        sector.Clear();
        for (int i = 0; i < 64 && first + i < table.Length; i++)
            BinaryPrimitives.WriteUInt64BigEndian(sector[(i * 8)..], table[first + i]);
        file.Write((long)tableOffset + first * 8, sector);
    }
}

/// <summary>Changes to the header's first sector, written back as one sector.</summary>
internal static class Qcow2HeaderSector
{
    public static void Update(IImageFile file, SpanAction change)
    {
        var sector = new byte[512];
        file.Read(0, sector);
        change(sector);
        file.Write(0, sector);
    }

    /// <summary>A change made to the sector in place.</summary>
    public delegate void SpanAction(Span<byte> sector);
}
