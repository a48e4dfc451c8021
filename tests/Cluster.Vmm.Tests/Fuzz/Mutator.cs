namespace Cluster.Vmm.Tests.Fuzz;

/// <summary>
/// Byte-level mutations in the manner of AFL's havoc stage: bit flips, interesting values (0, -1, the edges of 8, 16, 32
/// and 64-bit integers) written at random offsets in both byte orders, random bytes, inserted, deleted and duplicated
/// runs, truncation and splicing with another input. Deterministic for a seed, so a failure is replayed from its seed.
/// </summary>
internal sealed class Mutator(int seed)
{
    private static readonly ulong[] Interesting =
    [
        0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
        0x1_0000_0000, 0x7fff_ffff_ffff_ffff, 0x8000_0000_0000_0000, ulong.MaxValue, 4096, 4095, 0x1000_0000,
    ];

    private readonly Random _random = new(seed);

    /// <summary>A mutant of <paramref name="input"/> (1 to 8 stacked mutations), at most <paramref name="maxLength"/> bytes;
    /// <paramref name="other"/> is spliced in now and then.</summary>
    public byte[] Mutate(byte[] input, byte[] other, int maxLength)
    {
        var data = new List<byte>(input);
        int rounds = 1 << _random.Next(4);
        for (int i = 0; i < rounds; i++)
            MutateOnce(data, other);
        if (data.Count > maxLength) data.RemoveRange(maxLength, data.Count - maxLength);
        return [.. data];
    }

    private void MutateOnce(List<byte> data, byte[] other)
    {
        switch (_random.Next(data.Count == 0 ? 1 : 9))
        {
            case 0:
                data.InsertRange(_random.Next(data.Count + 1), RandomBytes(1 + _random.Next(16)));
                break;
            case 1:
                data[_random.Next(data.Count)] ^= (byte)(1 << _random.Next(8));
                break;
            case 2:
                data[_random.Next(data.Count)] = (byte)_random.Next(256);
                break;
            case 3:
                WriteInteresting(data);
                break;
            case 4:
                WriteInteresting(data);
                break;
            case 5:
            {
                int at = _random.Next(data.Count);
                data.RemoveRange(at, Math.Min(data.Count - at, 1 + _random.Next(32)));
                break;
            }
            case 6:
            {
                int at = _random.Next(data.Count), n = Math.Min(data.Count - at, 1 + _random.Next(64));
                data.InsertRange(_random.Next(data.Count + 1), data.GetRange(at, n));
                break;
            }
            case 7:
            {
                int keep = _random.Next(data.Count);
                data.RemoveRange(keep, data.Count - keep);
                break;
            }
            default:
                if (other.Length > 0)
                {
                    int cut = _random.Next(data.Count + 1), from = _random.Next(other.Length);
                    data.RemoveRange(cut, data.Count - cut);
                    data.AddRange(other.AsSpan(from, Math.Min(other.Length - from, 4096)).ToArray());
                }
                break;
        }
    }

    private void WriteInteresting(List<byte> data)
    {
        int width = 1 << _random.Next(4);
        if (data.Count < width) return;
        ulong value = Interesting[_random.Next(Interesting.Length)];
        if (_random.Next(2) == 0) value = unchecked(value + (ulong)(_random.Next(7) - 3));
        int at = _random.Next(data.Count - width + 1);
        bool bigEndian = _random.Next(4) == 0;
        for (int i = 0; i < width; i++)
        {
            int shift = 8 * (bigEndian ? width - 1 - i : i);
            data[at + i] = (byte)(value >> shift);
        }
    }

    private byte[] RandomBytes(int n)
    {
        var bytes = new byte[n];
        _random.NextBytes(bytes);
        return bytes;
    }
}
