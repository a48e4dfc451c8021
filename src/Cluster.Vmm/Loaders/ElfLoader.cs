using System.Buffers.Binary;
using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Loaders;

/// <summary>
/// Loads a statically linked x86-64 ELF executable (ET_EXEC): every PT_LOAD segment is copied to
/// its physical address (p_paddr; guests run identity-mapped), the rest of p_memsz is zeroed (bss),
/// and the entry must lie inside a loaded segment. Anything malformed is refused with a
/// <see cref="VmmException"/> (operation "elf-load") that names the problem.
/// </summary>
public static class ElfLoader
{
    private const int HeaderSize = 64, ProgramHeaderSize = 56;
    private const ushort EtExec = 2, EmX86_64 = 62;
    private const uint PtLoad = 1;

    /// <summary>Loads the file at <paramref name="path"/>.</summary>
    public static LoadedImage LoadFile(string path, GuestMemory memory, ulong memoryBytes)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (IOException e) { throw new VmmException($"cannot read guest image {path}: {e.Message}", "elf-load", inner: e); }
        catch (UnauthorizedAccessException e) { throw new VmmException($"cannot read guest image {path}: {e.Message}", "elf-load", inner: e); }
        return Load(bytes, memory, memoryBytes);
    }

    /// <summary>Loads an ELF image into guest memory of <paramref name="memoryBytes"/> bytes starting at 0.</summary>
    public static LoadedImage Load(ReadOnlySpan<byte> elf, GuestMemory memory, ulong memoryBytes)
    {
        var segments = Parse(elf, memoryBytes, out ulong entry);
        foreach (var s in segments)
        {
            memory.Write(s.Address, elf.Slice((int)s.FileOffset, (int)s.FileSize));
            ulong zeroes = s.MemorySize - s.FileSize;
            var zero = new byte[(int)Math.Min(zeroes, 1UL << 20)];
            for (ulong done = 0; done < zeroes;)
            {
                int n = (int)Math.Min((ulong)zero.Length, zeroes - done);
                memory.Write(s.Address + s.FileSize + done, zero.AsSpan(0, n));
                done += (ulong)n;
            }
        }
        return new LoadedImage(entry, segments.Min(s => s.Address), segments.Max(s => s.Address + s.MemorySize));
    }

    private readonly record struct Segment(ulong Address, ulong FileOffset, ulong FileSize, ulong MemorySize);

    private static List<Segment> Parse(ReadOnlySpan<byte> elf, ulong memoryBytes, out ulong entry)
    {
        if (elf.Length < 4 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw Fail("not an ELF file (bad magic)");
        if (elf.Length < HeaderSize)
            throw Fail($"truncated ELF header: {elf.Length} bytes, need {HeaderSize}");
        if (elf[4] != 2) throw Fail($"wrong ELF class {elf[4]}: only ELFCLASS64 is supported");
        if (elf[5] != 1) throw Fail($"wrong ELF data encoding {elf[5]}: only little-endian is supported");
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(elf[16..]);
        if (type != EtExec) throw Fail($"wrong ELF type {type}: only ET_EXEC (2) is supported");
        ushort machine = BinaryPrimitives.ReadUInt16LittleEndian(elf[18..]);
        if (machine != EmX86_64) throw Fail($"wrong ELF machine {machine}: only EM_X86_64 (62) is supported");
        entry = BinaryPrimitives.ReadUInt64LittleEndian(elf[24..]);
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(elf[32..]);
        ushort phentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf[54..]);
        ushort phnum = BinaryPrimitives.ReadUInt16LittleEndian(elf[56..]);
        if (phnum == 0) throw Fail("no program headers");
        if (phentsize != ProgramHeaderSize) throw Fail($"program header size {phentsize}, expected {ProgramHeaderSize}");
        if (phoff > (ulong)elf.Length || (ulong)phnum * ProgramHeaderSize > (ulong)elf.Length - phoff)
            throw Fail($"truncated program headers: {phnum} at offset {phoff} do not fit in {elf.Length} bytes");

        var segments = new List<Segment>();
        for (int i = 0; i < phnum; i++)
        {
            var ph = elf.Slice((int)phoff + i * ProgramHeaderSize, ProgramHeaderSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != PtLoad) continue;
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(ph[8..]);
            ulong paddr = BinaryPrimitives.ReadUInt64LittleEndian(ph[24..]);
            ulong filesz = BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]);
            ulong memsz = BinaryPrimitives.ReadUInt64LittleEndian(ph[40..]);
            if (memsz == 0) continue;
            if (filesz > memsz) throw Fail($"segment {i}: file size 0x{filesz:x} exceeds memory size 0x{memsz:x}");
            if (memsz > memoryBytes) throw Fail($"segment {i}: memory size 0x{memsz:x} exceeds guest memory of 0x{memoryBytes:x} bytes");
            if (offset > (ulong)elf.Length || filesz > (ulong)elf.Length - offset)
                throw Fail($"segment {i}: truncated: 0x{filesz:x} bytes at file offset 0x{offset:x} go past the end of the {elf.Length}-byte file");
            if (paddr + memsz < paddr || paddr + memsz > memoryBytes)
                throw Fail($"segment {i}: 0x{paddr:x}+0x{memsz:x} lies outside guest memory of 0x{memoryBytes:x} bytes");
            if (paddr < GuestLayout.ImageBase)
                throw Fail($"segment {i}: 0x{paddr:x}+0x{memsz:x} overlaps the VMM's reserved area below 0x{GuestLayout.ImageBase:x}");
            foreach (var other in segments)
                if (paddr < other.Address + other.MemorySize && other.Address < paddr + memsz)
                    throw Fail($"segment {i}: 0x{paddr:x}+0x{memsz:x} overlaps another segment at 0x{other.Address:x}");
            segments.Add(new Segment(paddr, offset, filesz, memsz));
        }
        if (segments.Count == 0) throw Fail("no PT_LOAD segment");
        ulong e = entry;
        if (!segments.Any(s => e >= s.Address && e < s.Address + s.MemorySize))
            throw Fail($"entry point 0x{entry:x} lies outside every loaded segment");
        return segments;
    }

    private static VmmException Fail(string message) => new($"invalid ELF image: {message}", "elf-load");
}
