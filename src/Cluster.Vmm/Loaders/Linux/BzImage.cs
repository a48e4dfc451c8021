using System.Buffers.Binary;

namespace Cluster.Vmm.Loaders.Linux;

/// <summary>
/// A Linux bzImage read by the x86 boot protocol (Documentation/arch/x86/boot.rst): the real-mode setup
/// sectors with the setup header, followed by the protected-mode kernel that is loaded at 1 MiB and entered
/// at its 64-bit entry point 0x200 bytes in. Only what a 64-bit direct boot needs is checked and kept.
/// </summary>
public sealed class BzImage
{
    /// <summary>Offsets of the setup header fields, in the bzImage and in boot_params alike.</summary>
    internal const int SetupSectsOffset = 0x1f1, BootFlagOffset = 0x1fe, JumpOffset = 0x200, HeaderMagicOffset = 0x202,
        VersionOffset = 0x206, TypeOfLoaderOffset = 0x210, LoadFlagsOffset = 0x211, Code32StartOffset = 0x214,
        RamdiskImageOffset = 0x218, RamdiskSizeOffset = 0x21c, HeapEndPtrOffset = 0x224, CmdLinePtrOffset = 0x228,
        InitrdAddrMaxOffset = 0x22c, KernelAlignmentOffset = 0x230, RelocatableOffset = 0x234, XLoadFlagsOffset = 0x236,
        CmdlineSizeOffset = 0x238, PrefAddressOffset = 0x258, InitSizeOffset = 0x260;

    /// <summary>"HdrS", the setup header's magic.</summary>
    public const uint HeaderMagic = 0x5372_6448;

    /// <summary>Boot protocol 2.12: xloadflags, and with it the 64-bit entry point.</summary>
    public const ushort MinimumVersion = 0x020c;

    public const byte LoadedHigh = 0x01, CanUseHeap = 0x80;
    public const ushort XlfKernel64 = 0x01;

    private readonly byte[] _image;

    private BzImage(byte[] image, int setupSize)
    {
        _image = image;
        SetupSize = setupSize;
        Version = U16(VersionOffset);
        LoadFlags = image[LoadFlagsOffset];
        XLoadFlags = U16(XLoadFlagsOffset);
        InitrdAddrMax = BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(InitrdAddrMaxOffset));
        CmdlineSize = BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(CmdlineSizeOffset));
        KernelAlignment = BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(KernelAlignmentOffset));
        PrefAddress = BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(PrefAddressOffset));
        InitSize = BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(InitSizeOffset));
    }

    /// <summary>Bytes of the real-mode part (boot sector and setup sectors), not loaded for a 64-bit boot.</summary>
    public int SetupSize { get; }
    public ushort Version { get; }
    public byte LoadFlags { get; }
    public ushort XLoadFlags { get; }
    /// <summary>The highest address the initramfs may occupy.</summary>
    public uint InitrdAddrMax { get; }
    /// <summary>The longest command line, without the terminating NUL.</summary>
    public uint CmdlineSize { get; }
    public uint KernelAlignment { get; }
    public ulong PrefAddress { get; }
    /// <summary>Bytes the kernel needs from its load address to decompress and start.</summary>
    public uint InitSize { get; }

    /// <summary>The protected-mode kernel, loaded at 1 MiB.</summary>
    public ReadOnlySpan<byte> ProtectedModeKernel => _image.AsSpan(SetupSize);

    /// <summary>The setup header as it goes into boot_params at offset 0x1f1: from setup_sects to its declared end.</summary>
    public ReadOnlySpan<byte> SetupHeader => _image.AsSpan(SetupSectsOffset, JumpOffset + 2 + _image[JumpOffset + 1] - SetupSectsOffset);

    /// <summary>Parses and checks a bzImage; a <see cref="VmmException"/> says what is wrong.</summary>
    public static BzImage Parse(byte[] image)
    {
        if (image.Length < 0x1000)
            throw Bad($"{image.Length} bytes is too short for a bzImage");
        if (BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(BootFlagOffset)) != 0xaa55)
            throw Bad("no 0xAA55 boot flag at 0x1fe");
        if (BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(HeaderMagicOffset)) != HeaderMagic)
            throw Bad("no \"HdrS\" setup header magic at 0x202");
        int sects = image[SetupSectsOffset] == 0 ? 4 : image[SetupSectsOffset];
        int setupSize = (sects + 1) * 512;
        if (setupSize >= image.Length)
            throw Bad($"setup of {setupSize} bytes leaves no kernel in {image.Length} bytes");
        var bz = new BzImage(image, setupSize);
        if (bz.Version < MinimumVersion)
            throw Bad($"boot protocol {bz.Version >> 8}.{bz.Version & 0xff} is older than 2.12 (no 64-bit entry point)");
        if ((bz.LoadFlags & LoadedHigh) == 0)
            throw Bad("not a bzImage: LOADED_HIGH is clear (a zImage loads at 0x10000)");
        if ((bz.XLoadFlags & XlfKernel64) == 0)
            throw Bad("XLF_KERNEL_64 is clear: the kernel has no 64-bit entry point");
        return bz;
    }

    private ushort U16(int offset) => BinaryPrimitives.ReadUInt16LittleEndian(_image.AsSpan(offset));

    private static VmmException Bad(string why) => new($"bzImage: {why}", "bzimage-load");
}
