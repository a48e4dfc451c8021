namespace Cluster.Vmm.Migration;

/// <summary>
/// XBZRLE-like delta encoding of a page against the copy the peer already holds: alternating
/// runs of (LEB128 count of unchanged bytes, LEB128 count of changed bytes, the changed bytes'
/// new values). A trailing unchanged run is implicit. Encoding gives up (returns -1) as soon as
/// the delta would not fit the destination, so callers pass a destination smaller than a page.
/// </summary>
public static class Xbzrle
{
    /// <summary>Encodes <paramref name="current"/> against <paramref name="previous"/> (same length)
    /// into <paramref name="destination"/>; the bytes written, or -1 when they do not fit.</summary>
    public static int Encode(ReadOnlySpan<byte> previous, ReadOnlySpan<byte> current, Span<byte> destination)
    {
        if (previous.Length != current.Length) throw new ArgumentException("pages differ in length", nameof(previous));
        int i = 0, o = 0, n = current.Length;
        while (i < n)
        {
            int same = previous[i..].CommonPrefixLength(current[i..]);
            i += same;
            if (i == n) break;
            int start = i;
            while (i < n && previous[i] != current[i]) i++;
            int changed = i - start;
            if (!TryWriteVarint(destination, ref o, (uint)same) || !TryWriteVarint(destination, ref o, (uint)changed)
                || o + changed > destination.Length)
                return -1;
            current.Slice(start, changed).CopyTo(destination[o..]);
            o += changed;
        }
        return o;
    }

    /// <summary>Applies a delta from <see cref="Encode"/> to <paramref name="page"/> in place.</summary>
    /// <exception cref="VmmException">a delta that runs past the page or is truncated.</exception>
    public static void Decode(ReadOnlySpan<byte> delta, Span<byte> page)
    {
        int i = 0, p = 0;
        while (i < delta.Length)
        {
            uint same = ReadVarint(delta, ref i);
            uint changed = ReadVarint(delta, ref i);
            if ((ulong)p + same + changed > (ulong)page.Length || (ulong)i + changed > (ulong)delta.Length)
                throw new VmmException("XBZRLE delta runs past its page", "migration-xbzrle");
            p += (int)same;
            delta.Slice(i, (int)changed).CopyTo(page[p..]);
            p += (int)changed;
            i += (int)changed;
        }
    }

    private static bool TryWriteVarint(Span<byte> destination, ref int o, uint value)
    {
        do
        {
            if (o >= destination.Length) return false;
            byte b = (byte)(value & 0x7f);
            value >>= 7;
            destination[o++] = value == 0 ? b : (byte)(b | 0x80);
        } while (value != 0);
        return true;
    }

    private static uint ReadVarint(ReadOnlySpan<byte> source, ref int i)
    {
        uint value = 0;
        for (int shift = 0; shift < 35; shift += 7)
        {
            if (i >= source.Length) throw new VmmException("XBZRLE delta is truncated", "migration-xbzrle");
            byte b = source[i++];
            value |= (uint)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new VmmException("XBZRLE delta has an over-long number", "migration-xbzrle");
    }
}
