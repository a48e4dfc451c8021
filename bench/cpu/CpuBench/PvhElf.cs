using System.Buffers.Binary;

namespace CpuBench;

/// <summary>
/// The little the benchmark needs of an ELF64 image: its PT_LOAD segments and the 32-bit PVH entry
/// point (XEN_ELFNOTE_PHYS32_ENTRY, note type 18), which is how QEMU's -kernel enters it too.
/// </summary>
internal sealed class PvhElf
{
    public required List<(ulong PhysAddr, byte[] Bytes, ulong MemSize)> Segments { get; init; }
    public required uint Entry { get; init; }

    public static PvhElf Parse(byte[] f)
    {
        if (f.Length < 64 || BinaryPrimitives.ReadUInt32LittleEndian(f) != 0x464C457F || f[4] != 2)
            throw new InvalidDataException("not an ELF64 image");
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(f.AsSpan(32));
        int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(54));
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(56));
        var segments = new List<(ulong, byte[], ulong)>();
        uint? entry = null;
        for (int i = 0; i < phnum; i++)
        {
            var ph = f.AsSpan((int)phoff + i * phentsize, phentsize);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(ph);
            ulong off = BinaryPrimitives.ReadUInt64LittleEndian(ph[8..]);
            ulong paddr = BinaryPrimitives.ReadUInt64LittleEndian(ph[24..]);
            ulong filesz = BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]);
            ulong memsz = BinaryPrimitives.ReadUInt64LittleEndian(ph[40..]);
            if (type == 1) segments.Add((paddr, f.AsSpan((int)off, (int)filesz).ToArray(), memsz));
            else if (type == 4) entry ??= FindPvhEntry(f.AsSpan((int)off, (int)filesz));
        }
        return new PvhElf { Segments = segments, Entry = entry ?? throw new InvalidDataException("no PVH entry note") };
    }

    private static uint? FindPvhEntry(ReadOnlySpan<byte> notes)
    {
        while (notes.Length >= 12)
        {
            int namesz = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes);
            int descsz = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes[4..]);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(notes[8..]);
            int desc = 12 + ((namesz + 3) & ~3);
            if (type == 18 && descsz >= 4) return BinaryPrimitives.ReadUInt32LittleEndian(notes[desc..]);
            notes = notes[Math.Min(notes.Length, desc + ((descsz + 3) & ~3))..];
        }
        return null;
    }
}
