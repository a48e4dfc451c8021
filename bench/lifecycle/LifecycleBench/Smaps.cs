using System.Globalization;

namespace LifecycleBench;

/// <summary>A process's memory from /proc/PID/smaps: its PSS and RSS, and the PSS of its guest RAM (the one anonymous
/// mapping whose size is the guest's memory size; null when none or several match).</summary>
public sealed record ProcessMemory(long PssKib, long RssKib, long? GuestPssKib, int GuestMatches)
{
    public static ProcessMemory? Read(int pid, long guestKib)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines($"/proc/{pid}/smaps");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        long pss = 0, rss = 0, size = 0, guestPss = 0;
        var matches = 0;
        var anonymous = false;
        foreach (var line in lines)
        {
            if (line.Length > 0 && char.IsAsciiHexDigit(line[0]) && line.Contains('-', StringComparison.Ordinal) && !line.EndsWith(':'))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                anonymous = fields.Length == 5 && fields[1].StartsWith("rw", StringComparison.Ordinal);
                continue;
            }
            if (line.StartsWith("Size:", StringComparison.Ordinal))
                size = Kib(line);
            else if (line.StartsWith("Rss:", StringComparison.Ordinal))
                rss += Kib(line);
            else if (line.StartsWith("Pss:", StringComparison.Ordinal))
            {
                var p = Kib(line);
                pss += p;
                if (anonymous && size == guestKib)
                {
                    matches++;
                    guestPss = p;
                }
            }
        }
        return new ProcessMemory(pss, rss, matches == 1 ? guestPss : null, matches);
    }

    private static long Kib(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}
