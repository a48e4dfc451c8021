using System.Buffers.Binary;

namespace Cluster.Vmm.Loaders.Linux;

/// <summary>
/// The 4 KiB "zero page" (struct boot_params) of the x86 boot protocol, built by the loader: the kernel's
/// setup header with the loader's fields filled in, and the e820 memory map.
/// </summary>
public sealed class BootParams
{
    public const int Size = 4096;
    internal const int E820EntriesOffset = 0x1e8, E820TableOffset = 0x2d0, E820MaxEntries = 128, E820EntrySize = 20;

    /// <summary>The boot loader id for "undefined/other" loaders (type_of_loader 0xff).</summary>
    public const byte UndefinedLoader = 0xff;

    private readonly byte[] _page = new byte[Size];

    public BootParams(BzImage kernel)
    {
        kernel.SetupHeader.CopyTo(_page.AsSpan(BzImage.SetupSectsOffset));
        _page[BzImage.TypeOfLoaderOffset] = UndefinedLoader;
        _page[BzImage.LoadFlagsOffset] = (byte)(kernel.LoadFlags | BzImage.LoadedHigh | BzImage.CanUseHeap);
        // The heap ends where the boot sector's real-mode segment would (setup code is not run on a 64-bit boot).
        U16(BzImage.HeapEndPtrOffset, 0xfe00);
    }

    public ReadOnlySpan<byte> Bytes => _page;

    public void SetCommandLine(ulong address) => U32(BzImage.CmdLinePtrOffset, checked((uint)address));

    public void SetRamdisk(ulong address, ulong size)
    {
        U32(BzImage.RamdiskImageOffset, checked((uint)address));
        U32(BzImage.RamdiskSizeOffset, checked((uint)size));
    }

    public void SetE820(IReadOnlyList<E820Entry> entries)
    {
        if (entries.Count > E820MaxEntries)
            throw new VmmException($"{entries.Count} e820 entries exceed the {E820MaxEntries} of boot_params", "bzimage-load");
        _page[E820EntriesOffset] = (byte)entries.Count;
        for (int i = 0; i < entries.Count; i++)
        {
            var at = _page.AsSpan(E820TableOffset + i * E820EntrySize);
            BinaryPrimitives.WriteUInt64LittleEndian(at, entries[i].Address);
            BinaryPrimitives.WriteUInt64LittleEndian(at[8..], entries[i].Size);
            BinaryPrimitives.WriteUInt32LittleEndian(at[16..], (uint)entries[i].Type);
        }
    }

    private void U16(int offset, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(_page.AsSpan(offset), v);
    private void U32(int offset, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(offset), v);
}
