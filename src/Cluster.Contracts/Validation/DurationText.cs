using System.Globalization;

namespace Cluster.Contracts.Validation;

/// <summary>The one parser of durations that people write (token expiry in vmctl and the HTTP API): a whole number with s, m, h or d (90m, 12h, 30d).</summary>
public static class DurationText
{
    /// <summary>The longest duration accepted: about ten years.</summary>
    public static readonly TimeSpan Max = TimeSpan.FromDays(3660);

    /// <summary>The duration <paramref name="text"/> says; false when it is none, not positive or over <see cref="Max"/>.</summary>
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (text is not { Length: >= 2 })
            return false;
        var unit = text[^1] switch { 's' => 1L, 'm' => 60L, 'h' => 3600L, 'd' => 86400L, _ => 0L };
        if (unit == 0 || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            || n <= 0 || n > (long)Max.TotalSeconds / unit)
            return false;
        duration = TimeSpan.FromSeconds(n * unit);
        return true;
    }
}
