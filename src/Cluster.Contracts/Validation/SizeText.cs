using System.Globalization;

namespace Cluster.Contracts.Validation;

/// <summary>
/// The one parser of sizes that people write (vmctl, cluster-node options, the HTTP API): bytes, or a number with a
/// K, M or G suffix (powers of 1024), optionally followed by "iB" or "B" (64M, 64MiB, 64MB, 1G, 2097152).
/// </summary>
public static class SizeText
{
    /// <summary>The size <paramref name="text"/> says, in bytes; false when it is not a size or overflows.</summary>
    public static bool TryParse(string text, out ulong bytes)
    {
        bytes = 0;
        var t = text.Trim().ToUpperInvariant().Replace("IB", "", StringComparison.Ordinal).TrimEnd('B');
        var shift = t.Length == 0 ? 0 : t[^1] switch { 'K' => 10, 'M' => 20, 'G' => 30, _ => 0 };
        if (shift > 0)
            t = t[..^1];
        if (!ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > ulong.MaxValue >> shift)
            return false;
        bytes = n << shift;
        return true;
    }
}
