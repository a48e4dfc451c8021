using Cluster.Vmm.Loaders;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;

namespace Cluster.Vmm.Tests.Loaders;

public class ElfLoaderTests
{
    private const ulong Mem = 4UL << 20;
    private static readonly byte[] Code = [0x90, 0x90, 0xf4];

    private static ElfBuilder Valid() => new ElfBuilder { Entry = 0x100000 }.Add(0x100000, Code);

    private static VmmException Reject(byte[] elf)
    {
        using var m = new TestMemory(Mem);
        var e = Assert.Throws<VmmException>(() => ElfLoader.Load(elf, m.Memory, Mem));
        Assert.Equal("elf-load", e.Operation);
        return e;
    }

    [Fact]
    public void Loads_segments_at_their_physical_addresses_and_zeroes_bss()
    {
        using var m = new TestMemory(Mem);
        m.Memory.Write(0x200000, Enumerable.Repeat((byte)0xcc, 0x3000).ToArray());
        var elf = new ElfBuilder { Entry = 0x100001 }
            .Add(0x100000, Code)
            .Add(0x200000, [1, 2, 3, 4], memorySize: 0x2800)
            .Add(0x300000, [9], type: 4)
            .Build();

        var image = ElfLoader.Load(elf, m.Memory, Mem);

        Assert.Equal(new LoadedImage(0x100001, 0x100000, 0x202800), image);
        var text = new byte[3];
        m.Memory.Read(0x100000, text);
        Assert.Equal(Code, text);
        var data = new byte[0x2800];
        m.Memory.Read(0x200000, data);
        Assert.Equal([1, 2, 3, 4], data[..4]);
        Assert.All(data[4..], b => Assert.Equal(0, b));
        Assert.Equal(0xcc, m.Memory.ReadU8(0x202800));
        Assert.Equal(0, m.Memory.ReadU8(0x300000));
    }

    [Fact]
    public void Rejects_a_file_that_is_not_elf() =>
        Assert.Contains("not an ELF file", Reject("#!/bin/sh\necho hi\n"u8.ToArray()).Message);

    [Fact]
    public void Rejects_a_truncated_header() =>
        Assert.Contains("truncated ELF header", Reject(Valid().Build()[..40]).Message);

    [Fact]
    public void Rejects_a_32_bit_elf()
    {
        var b = Valid();
        b.Class = 1;
        Assert.Contains("wrong ELF class", Reject(b.Build()).Message);
    }

    [Fact]
    public void Rejects_another_machine()
    {
        var b = Valid();
        b.Machine = 183;
        Assert.Contains("wrong ELF machine 183", Reject(b.Build()).Message);
    }

    [Fact]
    public void Rejects_a_shared_object()
    {
        var b = Valid();
        b.Type = 3;
        Assert.Contains("only ET_EXEC", Reject(b.Build()).Message);
    }

    [Fact]
    public void Rejects_truncated_program_headers() =>
        Assert.Contains("truncated program headers", Reject(Valid().Build()[..100]).Message);

    [Fact]
    public void Rejects_a_bad_program_header_size()
    {
        var b = Valid();
        b.ProgramHeaderSize = 32;
        Assert.Contains("program header size 32", Reject(b.Build()).Message);
    }

    [Fact]
    public void Rejects_a_truncated_segment()
    {
        var elf = new ElfBuilder { Entry = 0x100000 }.Add(0x100000, new byte[64]).Build();
        Assert.Contains("truncated", Reject(elf[..^10]).Message);
    }

    [Fact]
    public void Rejects_a_segment_outside_guest_memory() =>
        Assert.Contains("outside guest memory", Reject(new ElfBuilder { Entry = 0x3ff000 }.Add(0x3ff000, Code, memorySize: 0x2000).Build()).Message);

    [Fact]
    public void Rejects_a_segment_in_the_reserved_area() =>
        Assert.Contains("reserved area", Reject(new ElfBuilder { Entry = 0x8000 }.Add(0x8000, Code).Build()).Message);

    [Fact]
    public void Rejects_an_absurd_memory_size() =>
        Assert.Contains("exceeds guest memory", Reject(new ElfBuilder { Entry = 0x100000 }.Add(0x100000, Code, memorySize: 1UL << 40).Build()).Message);

    [Fact]
    public void Rejects_overlapping_segments() =>
        Assert.Contains("overlaps another segment", Reject(Valid().Add(0x100002, Code).Build()).Message);

    [Fact]
    public void Rejects_an_entry_outside_the_loaded_segments() =>
        Assert.Contains("entry point 0x180000", Reject(new ElfBuilder { Entry = 0x180000 }.Add(0x100000, Code).Build()).Message);

    [Fact]
    public void Rejects_a_file_without_load_segments() =>
        Assert.Contains("no PT_LOAD", Reject(new ElfBuilder { Entry = 0x100000 }.Add(0x100000, Code, type: 4).Build()).Message);

    [Fact]
    public void Rejects_a_file_it_cannot_read()
    {
        using var m = new TestMemory(Mem);
        var e = Assert.Throws<VmmException>(() => ElfLoader.LoadFile("/nonexistent/guest.elf", m.Memory, Mem));
        Assert.Contains("/nonexistent/guest.elf", e.Message);
    }
}
