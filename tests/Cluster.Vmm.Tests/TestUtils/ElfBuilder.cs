using System.Buffers.Binary;

namespace Cluster.Vmm.Tests.TestUtils;

/// <summary>Builds small ELF64 executables for loader tests; each field can be spoiled on purpose.</summary>
internal sealed class ElfBuilder
{
    public sealed record Segment(ulong Address, byte[] Data, ulong MemorySize, uint Type = 1);

    public List<Segment> Segments { get; } = [];
    public ulong Entry { get; set; }
    public byte Class { get; set; } = 2;
    public ushort Type { get; set; } = 2;
    public ushort Machine { get; set; } = 62;
    public ushort ProgramHeaderSize { get; set; } = 56;

    public ElfBuilder Add(ulong address, byte[] data, ulong? memorySize = null, uint type = 1)
    {
        Segments.Add(new Segment(address, data, memorySize ?? (ulong)data.Length, type));
        return this;
    }

    public byte[] Build()
    {
        const int header = 64, ph = 56;
        int dataStart = header + ph * Segments.Count;
        var file = new byte[dataStart + Segments.Sum(s => s.Data.Length)];
        var span = file.AsSpan();
        "\u007fELF"u8.CopyTo(span);
        file[4] = Class;
        file[5] = 1;
        file[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(span[16..], Type);
        BinaryPrimitives.WriteUInt16LittleEndian(span[18..], Machine);
        BinaryPrimitives.WriteUInt32LittleEndian(span[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(span[24..], Entry);
        BinaryPrimitives.WriteUInt64LittleEndian(span[32..], header);
        BinaryPrimitives.WriteUInt16LittleEndian(span[52..], header);
        BinaryPrimitives.WriteUInt16LittleEndian(span[54..], ProgramHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(span[56..], (ushort)Segments.Count);
        int offset = dataStart;
        for (int i = 0; i < Segments.Count; i++)
        {
            var s = Segments[i];
            var p = span.Slice(header + i * ph, ph);
            BinaryPrimitives.WriteUInt32LittleEndian(p, s.Type);
            BinaryPrimitives.WriteUInt32LittleEndian(p[4..], 7);
            BinaryPrimitives.WriteUInt64LittleEndian(p[8..], (ulong)offset);
            BinaryPrimitives.WriteUInt64LittleEndian(p[16..], s.Address);
            BinaryPrimitives.WriteUInt64LittleEndian(p[24..], s.Address);
            BinaryPrimitives.WriteUInt64LittleEndian(p[32..], (ulong)s.Data.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(p[40..], s.MemorySize);
            BinaryPrimitives.WriteUInt64LittleEndian(p[48..], 0x1000);
            s.Data.CopyTo(file, offset);
            offset += s.Data.Length;
        }
        return file;
    }
}
