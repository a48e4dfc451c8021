using System.Buffers.Binary;
using System.Text;
using Cluster.Vmm.Storage.Files;

namespace Cluster.Vmm.Storage.Qcow2;

/// <summary>
/// The qcow2 header (docs/interop/qcow2.txt in QEMU), read and checked field by field: every field
/// that could make the image be misread is validated here, and a bad one refuses the image with a
/// message naming the field. Big-endian on disk.
/// </summary>
internal sealed record Qcow2Header
{
    public const uint Magic = 0x514649fb;
    public const int V2Length = 72, V3MinLength = 104, CreatedLength = 112;
    public const int MinClusterBits = 9, MaxClusterBits = 21;
    public const int MaxBackingNameLength = 1023;
    /// <summary>QEMU's limits: 32 MiB of L1 table, 8 MiB of refcount table, 65536 snapshots.</summary>
    public const ulong MaxL1Bytes = 32 << 20, MaxRefcountTableBytes = 8 << 20, MaxSnapshots = 65536;

    public const ulong IncompatDirty = 1 << 0, IncompatCorrupt = 1 << 1, IncompatDataFile = 1 << 2,
        IncompatCompression = 1 << 3, IncompatExtendedL2 = 1 << 4;
    public const ulong CompatLazyRefcounts = 1 << 0;

    public const uint ExtEnd = 0, ExtBackingFormat = 0xe2792aca, ExtFeatureNames = 0x6803f857,
        ExtBitmaps = 0x23852875, ExtCrypto = 0x0537be77, ExtDataFile = 0x44415441;

    public uint Version { get; init; }
    public ulong BackingFileOffset { get; init; }
    public uint BackingFileSize { get; init; }
    public int ClusterBits { get; init; }
    public ulong Size { get; init; }
    public uint CryptMethod { get; init; }
    public uint L1Size { get; init; }
    public ulong L1TableOffset { get; init; }
    public ulong RefcountTableOffset { get; init; }
    public uint RefcountTableClusters { get; init; }
    public uint NbSnapshots { get; init; }
    public ulong SnapshotsOffset { get; init; }
    public ulong IncompatibleFeatures { get; init; }
    public ulong CompatibleFeatures { get; init; }
    public ulong AutoclearFeatures { get; init; }
    public int RefcountOrder { get; init; } = 4;
    public uint HeaderLength { get; init; }
    public byte CompressionType { get; init; }
    public string? BackingFile { get; init; }
    public string? BackingFormat { get; init; }

    public ulong ClusterSize => 1UL << ClusterBits;
    /// <summary>Entries in an L2 table (8 bytes each).</summary>
    public ulong L2Entries => ClusterSize / 8;

    /// <summary>True when <paramref name="first4"/> is the qcow2 magic.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> first4) =>
        first4.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(first4) == Magic;

    /// <summary>L1 entries needed to map <paramref name="size"/> bytes with 2^clusterBits clusters.</summary>
    public static ulong L1EntriesFor(ulong size, int clusterBits)
    {
        int shift = clusterBits + clusterBits - 3;
        return (size + (1UL << shift) - 1) >> shift;
    }

    /// <summary>Reads and validates the header; throws a "disk-open" VmmException naming the file and the problem.</summary>
    public static Qcow2Header Read(IImageFile file)
    {
        string path = file.Path;
        long fileLength = file.Length;
        VmmException Bad(string problem) => new($"{path}: not a usable qcow2 image: {problem}", "disk-open");

        if (fileLength < V2Length)
            throw Bad($"truncated: the file has {fileLength} bytes, fewer than a qcow2 header");
        var h = new byte[V3MinLength + 8];
        file.Read(0, h);
        if (BinaryPrimitives.ReadUInt32BigEndian(h) != Magic)
            throw Bad("no qcow2 magic (QFI\\xfb) at offset 0");
        uint version = U32(h, 4);
        if (version is not (2 or 3))
            throw Bad($"version {version} is not supported (2 and 3 are)");
        int clusterBits = (int)U32(h, 20);
        if (clusterBits is < MinClusterBits or > MaxClusterBits)
            throw Bad($"cluster_bits {clusterBits} is outside {MinClusterBits}..{MaxClusterBits} (512 bytes to 2 MiB clusters)");
        ulong clusterSize = 1UL << clusterBits;
        if (version == 3 && fileLength < V3MinLength)
            throw Bad($"truncated: the file has {fileLength} bytes, fewer than a version 3 header");

        uint headerLength = version == 3 ? U32(h, 100) : V2Length;
        if (version == 3 && (headerLength < V3MinLength || headerLength % 8 != 0 || headerLength > clusterSize))
            throw Bad($"header_length {headerLength} is not a multiple of 8 between {V3MinLength} and the cluster size");
        var header = new Qcow2Header
        {
            Version = version,
            BackingFileOffset = U64(h, 8),
            BackingFileSize = U32(h, 16),
            ClusterBits = clusterBits,
            Size = U64(h, 24),
            CryptMethod = U32(h, 32),
            L1Size = U32(h, 36),
            L1TableOffset = U64(h, 40),
            RefcountTableOffset = U64(h, 48),
            RefcountTableClusters = U32(h, 56),
            NbSnapshots = U32(h, 60),
            SnapshotsOffset = U64(h, 64),
            IncompatibleFeatures = version == 3 ? U64(h, 72) : 0,
            CompatibleFeatures = version == 3 ? U64(h, 80) : 0,
            AutoclearFeatures = version == 3 ? U64(h, 88) : 0,
            RefcountOrder = version == 3 ? (int)U32(h, 96) : 4,
            HeaderLength = headerLength,
            CompressionType = version == 3 && headerLength > 104 ? h[104] : (byte)0,
        };
        header.Validate(fileLength, Bad);
        var (backingFormat, featureNames) = ReadExtensions(file, header, Bad);
        header.CheckIncompatibleFeatures(featureNames, Bad);
        return header with { BackingFile = ReadBackingName(file, header, Bad), BackingFormat = backingFormat };
    }

    private void Validate(long fileLength, Func<string, VmmException> bad)
    {
        ulong cs = ClusterSize;
        if (CryptMethod != 0)
            throw bad($"encrypted (crypt_method {CryptMethod}: {(CryptMethod == 1 ? "AES" : CryptMethod == 2 ? "LUKS" : "unknown")}); encryption is not supported");
        if (RefcountOrder is < 0 or > 6)
            throw bad($"refcount_order {RefcountOrder} is outside 0..6");
        if (Size % 512 != 0)
            throw bad($"virtual size {Size} is not a multiple of 512");
        if (Size > 1UL << 56)
            throw bad($"virtual size {Size} is absurd (more than 64 PiB)");
        ulong needed = L1EntriesFor(Size, ClusterBits);
        if (L1Size < needed)
            throw bad($"l1_size {L1Size} is too small for the virtual size {Size} (it needs {needed} entries)");
        if ((ulong)L1Size * 8 > MaxL1Bytes)
            throw bad($"l1_size {L1Size} is absurd (more than {MaxL1Bytes >> 20} MiB of L1 table)");
        CheckTable("L1 table", L1TableOffset, (ulong)L1Size * 8, fileLength, bad, allowEmpty: L1Size == 0);
        if (RefcountTableClusters == 0)
            throw bad("refcount_table_clusters is 0");
        if ((ulong)RefcountTableClusters * cs > MaxRefcountTableBytes)
            throw bad($"refcount_table_clusters {RefcountTableClusters} is absurd (more than {MaxRefcountTableBytes >> 20} MiB)");
        CheckTable("refcount table", RefcountTableOffset, RefcountTableClusters * cs, fileLength, bad, allowEmpty: false);
        if (NbSnapshots > MaxSnapshots)
            throw bad($"nb_snapshots {NbSnapshots} is absurd (more than {MaxSnapshots})");
        if (NbSnapshots > 0)
            CheckTable("snapshot table", SnapshotsOffset, 1, fileLength, bad, allowEmpty: false);
        if (BackingFileOffset != 0)
        {
            if (BackingFileSize == 0 || BackingFileSize > MaxBackingNameLength)
                throw bad($"backing_file_size {BackingFileSize} is outside 1..{MaxBackingNameLength}");
            if (BackingFileOffset + BackingFileSize > cs || BackingFileOffset + BackingFileSize > (ulong)fileLength)
                throw bad($"the backing file name at {BackingFileOffset} ({BackingFileSize} bytes) is outside the header cluster");
        }
    }

    /// <summary>Refuses a table that is unaligned or ends past the end of the file.</summary>
    public static void CheckTable(string what, ulong offset, ulong length, long fileLength, Func<string, VmmException> bad, bool allowEmpty)
    {
        if (allowEmpty && offset == 0)
            return;
        if (offset == 0 || offset % 512 != 0)
            throw bad($"{what} offset {offset} is {(offset == 0 ? "zero (it would overlap the header)" : "not aligned")}");
        if (offset > (ulong)fileLength || length > (ulong)fileLength - offset)
            throw bad($"{what} at offset {offset} ({length} bytes) is outside the file ({fileLength} bytes): the file is truncated or the offset corrupt");
    }

    private void CheckIncompatibleFeatures(Dictionary<int, string> names, Func<string, VmmException> bad)
    {
        ulong f = IncompatibleFeatures;
        if ((f & IncompatDataFile) != 0)
            throw bad("it uses an external data file (incompatible feature 'external data file'), which is not supported");
        if ((f & IncompatExtendedL2) != 0)
            throw bad("it uses extended L2 entries (subclusters, incompatible feature 'extended L2'), which are not supported");
        if ((f & IncompatCompression) != 0 && CompressionType == 1)
            throw bad("its compression type is zstd, which is not supported (only deflate)");
        if (CompressionType > 1)
            throw bad($"compression type {CompressionType} is unknown");
        ulong known = IncompatDirty | IncompatCorrupt | IncompatCompression;
        for (int bit = 0; bit < 64; bit++)
        {
            if ((f & (1UL << bit) & ~known) != 0)
                throw bad($"unknown incompatible feature bit {bit}{(names.TryGetValue(bit, out var n) ? $" ('{n}')" : "")}");
        }
    }

    private static (string? BackingFormat, Dictionary<int, string> IncompatibleNames) ReadExtensions(
        IImageFile file, Qcow2Header header, Func<string, VmmException> bad)
    {
        string? backingFormat = null;
        var names = new Dictionary<int, string>();
        ulong end = header.BackingFileOffset != 0 ? Math.Min(header.BackingFileOffset, header.ClusterSize) : header.ClusterSize;
        end = Math.Min(end, (ulong)file.Length);
        ulong at = header.HeaderLength;
        var buffer = new byte[end > at ? end - at : 0];
        file.Read((long)at, buffer);
        int pos = 0;
        while (pos + 8 <= buffer.Length)
        {
            uint type = BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(pos));
            uint length = BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(pos + 4));
            if (type == ExtEnd)
                return (backingFormat, names);
            if (length > buffer.Length - pos - 8)
                throw bad($"header extension 0x{type:x8} at offset {at + (ulong)pos} ({length} bytes) runs past the header cluster");
            var data = buffer.AsSpan(pos + 8, (int)length);
            switch (type)
            {
                case ExtBackingFormat:
                    backingFormat = Encoding.UTF8.GetString(data).TrimEnd('\0');
                    break;
                case ExtFeatureNames:
                    for (int i = 0; i + 48 <= data.Length; i += 48)
                    {
                        if (data[i] == 0)
                            names[data[i + 1]] = Encoding.UTF8.GetString(data.Slice(i + 2, 46)).TrimEnd('\0');
                    }
                    break;
            }
            pos += 8 + (int)((length + 7) & ~7u);
        }
        return (backingFormat, names);
    }

    private static string? ReadBackingName(IImageFile file, Qcow2Header header, Func<string, VmmException> bad)
    {
        if (header.BackingFileOffset == 0)
            return null;
        var name = new byte[header.BackingFileSize];
        file.Read((long)header.BackingFileOffset, name);
        string text = Encoding.UTF8.GetString(name);
        if (text.Contains('\0'))
            throw bad("the backing file name contains a NUL byte");
        return text;
    }

    private static uint U32(byte[] b, int at) => BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(at));
    private static ulong U64(byte[] b, int at) => BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(at));
}
