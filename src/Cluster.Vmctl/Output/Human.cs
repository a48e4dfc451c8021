using System.Globalization;

namespace Cluster.Vmctl.Output;

/// <summary>Approximate figures for people: sizes, rates, durations and progress bars.</summary>
public static class Human
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB"];

    /// <summary>A byte count rounded to one decimal in the largest fitting binary unit (512.0 MiB, 1.5 GiB, 300 B).</summary>
    public static string Bytes(double bytes)
    {
        if (bytes < 0 || double.IsNaN(bytes))
            return "-";
        var unit = 0;
        while (bytes >= 1024 && unit < Units.Length - 1)
        {
            bytes /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes.ToString("0", CultureInfo.InvariantCulture)} B" : $"{bytes.ToString("0.0", CultureInfo.InvariantCulture)} {Units[unit]}";
    }

    /// <summary>A rate in bytes per second (85.3 MiB/s).</summary>
    public static string Rate(double bytesPerSecond) => $"{Bytes(bytesPerSecond)}/s";

    /// <summary>Milliseconds as a short duration (850 ms, 12.3 s, 2m05s); "-" when negative (unknown).</summary>
    public static string Duration(double ms) => ms switch
    {
        < 0 or double.NaN => "-",
        < 1000 => $"{ms.ToString("0", CultureInfo.InvariantCulture)} ms",
        < 60_000 => $"{(ms / 1000).ToString("0.0", CultureInfo.InvariantCulture)} s",
        _ => $"{(long)(ms / 60_000)}m{(long)(ms / 1000) % 60:00}s",
    };

    /// <summary>A bar of <paramref name="width"/> cells filled to <paramref name="fraction"/> (clamped to 0..1): [#####.....].</summary>
    public static string Bar(double fraction, int width = 20)
    {
        var filled = (int)Math.Round(Math.Clamp(double.IsNaN(fraction) ? 0 : fraction, 0, 1) * width);
        return $"[{new string('#', filled)}{new string('.', width - filled)}]";
    }

    /// <summary>A fraction as a whole percentage (42%).</summary>
    public static string Percent(double fraction) =>
        $"{Math.Round(100 * (double.IsNaN(fraction) ? 0 : fraction)).ToString("0", CultureInfo.InvariantCulture)}%";
}
