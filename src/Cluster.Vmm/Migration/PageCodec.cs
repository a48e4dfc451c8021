using System.Buffers.Binary;

namespace Cluster.Vmm.Migration;

/// <summary>How one page travels in a Pages frame; the low 12 bits of the record's u64 header
/// (whose upper bits are the page-aligned guest-physical address).</summary>
public enum PageEncoding : byte
{
    /// <summary>Reserved: never sent.</summary>
    Invalid = 0,
    /// <summary>The page is all zero: the header alone.</summary>
    Zero = 1,
    /// <summary>The page's 4,096 bytes follow.</summary>
    Full = 2,
    /// <summary>A u16 length and an <see cref="Xbzrle"/> delta against the previous copy follow.</summary>
    Delta = 3,
}

/// <summary>
/// The records of a Pages frame: <c>u64 (gpa | encoding)</c>, then nothing (Zero), 4,096 bytes
/// (Full) or <c>u16 length + delta</c> (Delta). Encoding chooses the smallest form.
/// </summary>
public static class PageCodec
{
    /// <summary>The page size.</summary>
    public const int PageSize = (int)GuestAddress.PageSize;

    /// <summary>The largest record: header and a full page.</summary>
    public const int MaxRecord = 8 + PageSize;

    /// <summary>A delta is sent only when it is at most this long; longer ones go as Full pages.</summary>
    public const int MaxDelta = PageSize / 2;

    /// <summary>Whether a page is all zero.</summary>
    public static bool IsZero(ReadOnlySpan<byte> page) => page.IndexOfAnyExcept((byte)0) < 0;

    /// <summary>
    /// Writes the record of page <paramref name="gpa"/> with content <paramref name="page"/> (a
    /// stable copy) into <paramref name="destination"/> (at least <see cref="MaxRecord"/> bytes),
    /// against <paramref name="previous"/> (the peer's copy, or null); the bytes written and the form.
    /// </summary>
    public static (int Length, PageEncoding Encoding) Encode(ulong gpa, ReadOnlySpan<byte> page, ReadOnlySpan<byte> previous, Span<byte> destination)
    {
        if (IsZero(page))
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination, gpa | (ulong)PageEncoding.Zero);
            return (8, PageEncoding.Zero);
        }
        if (!previous.IsEmpty)
        {
            int n = Xbzrle.Encode(previous, page, destination.Slice(10, MaxDelta));
            if (n >= 0)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(destination, gpa | (ulong)PageEncoding.Delta);
                BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], (ushort)n);
                return (10 + n, PageEncoding.Delta);
            }
        }
        BinaryPrimitives.WriteUInt64LittleEndian(destination, gpa | (ulong)PageEncoding.Full);
        page.CopyTo(destination[8..]);
        return (8 + PageSize, PageEncoding.Full);
    }

    /// <summary>
    /// Reads the next record at <paramref name="offset"/> of a Pages payload, advancing the offset:
    /// the page's address and its form, and in <paramref name="data"/> the page, the delta, or nothing for Zero.
    /// </summary>
    /// <exception cref="VmmException">a malformed or truncated record.</exception>
    public static (ulong Gpa, PageEncoding Encoding) Decode(ReadOnlySpan<byte> payload, ref int offset, out ReadOnlySpan<byte> data)
    {
        if (payload.Length - offset < 8) throw new VmmException("truncated page record", "migration-pages");
        ulong header = BinaryPrimitives.ReadUInt64LittleEndian(payload[offset..]);
        offset += 8;
        data = ReadOnlySpan<byte>.Empty;
        ulong gpa = header & ~(GuestAddress.PageSize - 1);
        var encoding = (PageEncoding)(header & (GuestAddress.PageSize - 1));
        switch (encoding)
        {
            case PageEncoding.Zero:
                return (gpa, encoding);
            case PageEncoding.Full:
                if (payload.Length - offset < PageSize) throw new VmmException("truncated full page record", "migration-pages");
                offset += PageSize;
                data = payload.Slice(offset - PageSize, PageSize);
                return (gpa, encoding);
            case PageEncoding.Delta:
                if (payload.Length - offset < 2) throw new VmmException("truncated delta page record", "migration-pages");
                int n = BinaryPrimitives.ReadUInt16LittleEndian(payload[offset..]);
                offset += 2;
                if (payload.Length - offset < n) throw new VmmException("truncated delta page record", "migration-pages");
                offset += n;
                data = payload.Slice(offset - n, n);
                return (gpa, encoding);
            default:
                throw new VmmException($"page record with unknown encoding {(int)encoding}", "migration-pages");
        }
    }
}
