using System.Globalization;

namespace Cluster.Contracts.Validation;

/// <summary>
/// The one parser of sizes that people write, on every surface (vmctl, <c>apply -f</c> files, cluster-node and
/// <c>vmm run</c> options, the HTTP API): a whole number of bytes, optionally followed by a unit, any case:
/// <c>B</c>; <c>K</c>, <c>KB</c>, <c>KiB</c>; <c>M</c>, <c>MB</c>, <c>MiB</c>; <c>G</c>, <c>GB</c>, <c>GiB</c>;
/// <c>T</c>, <c>TB</c>, <c>TiB</c> (64M, 64MiB, 1G, 2097152, 0).
/// <para>Every unit is a power of 1024: <c>KB</c> and <c>MB</c> mean KiB and MiB, as in QEMU's <c>-m</c> and the
/// kernel's <c>mem=</c> (guest memory and disk sizes are binary; a decimal megabyte would make a guest of
/// "64MB" 1.6 MB short of what everyone means). Decimal units are not offered.</para>
/// Refused, with a message saying why: empty text, a sign, a fraction, an unknown unit, a size above 2^64 - 1 bytes.
/// Surrounding white space is ignored. Whether 0 is allowed is the caller's decision.
/// </summary>
public static class SizeText
{
    private static readonly (string Unit, int Shift)[] Units =
    [
        ("", 0), ("B", 0),
        ("K", 10), ("KB", 10), ("KIB", 10),
        ("M", 20), ("MB", 20), ("MIB", 20),
        ("G", 30), ("GB", 30), ("GIB", 30),
        ("T", 40), ("TB", 40), ("TIB", 40),
    ];

    /// <summary>The size <paramref name="text"/> says, in bytes; false when it is not a size or overflows.</summary>
    public static bool TryParse(string text, out ulong bytes) => TryParse(text, out bytes, out _);

    /// <summary>The size <paramref name="text"/> says, in bytes; false with <paramref name="error"/> saying what is wrong
    /// (for messages such as "bad --memory '1.5G': a whole number ...").</summary>
    public static bool TryParse(string? text, out ulong bytes, out string? error)
    {
        bytes = 0;
        var t = (text ?? "").Trim();
        var digits = 0;
        while (digits < t.Length && char.IsAsciiDigit(t[digits]))
            digits++;
        error = t switch
        {
            "" => "empty: give a number of bytes or a size such as 64M or 1GiB",
            _ when t[0] is '-' or '+' => "a size has no sign",
            _ when digits == 0 => "not a size: it must start with a whole number (64M, 1GiB, 2097152)",
            _ when digits < t.Length && t[digits] is '.' or ',' => "a whole number only: write 1536M, not 1.5G",
            _ => null,
        };
        if (error is not null)
            return false;
        var unit = t[digits..].Trim().ToUpperInvariant();
        var shift = -1;
        foreach (var (name, s) in Units)
            if (name == unit)
                shift = s;
        if (shift < 0)
        {
            error = $"unknown unit '{t[digits..].Trim()}' (B, K/KiB, M/MiB, G/GiB or T/TiB, all powers of 1024)";
            return false;
        }
        if (!ulong.TryParse(t[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > ulong.MaxValue >> shift)
        {
            error = "too large (more than 2^64 - 1 bytes)";
            return false;
        }
        bytes = n << shift;
        return true;
    }
}
