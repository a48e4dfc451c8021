using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

/// <summary>
/// Where the HA recovery's seconds went, read from the surviving hosts' logs (Akka's log lines carry UTC time stamps):
/// seconds after the kill of the first line of each phase, and the heartbeat gaps the failure detector saw.
/// </summary>
internal static partial class HaBreakdown
{
    private static readonly (string Phase, string Marker)[] Phases =
    [
        ("unreachable", "Marking node(s) as UNREACHABLE"),
        ("downed", "as [Down]"),
        ("downed", "SBR took decision"),
        ("removed", "Member removed"),
        ("lease_wait_started", "failover waits"),
        ("placed_again", "placed again on"),
    ];

    /// <summary>
    /// The heartbeat gaps Akka's failure detectors warned about (from 2/3 of the acceptable pause) before the kill, on every
    /// host: what a shorter acceptable-heartbeat-pause would have turned into false unreachables.
    /// </summary>
    public static string Gaps(DateTime killedAt, IReadOnlyList<string> logs)
    {
        var gaps = new List<int>();
        foreach (var line in logs.Where(File.Exists).SelectMany(Lines))
        {
            var gap = Gap().Match(line);
            if (gap.Success && Before(line, killedAt))
                gaps.Add(int.Parse(gap.Groups[1].Value, CultureInfo.InvariantCulture));
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"heartbeat gaps over 2/3 of the acceptable pause before the kill: {gaps.Count}, longest {(gaps.Count > 0 ? gaps.Max() : 0)} ms");
    }

    private static bool Before(string line, DateTime killedAt)
    {
        var stamp = Stamp().Match(line);
        return stamp.Success && DateTime.TryParseExact(stamp.Groups[1].Value, "MM/dd/yyyy HH:mm:ss.fff", CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at) && at < killedAt;
    }

    private static string[] Lines(string log)
    {
        using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n');
    }

    public static string From(DateTime killedAt, double recovery, IReadOnlyList<string> logs)
    {
        var first = new Dictionary<string, double>();
        var leaseWaits = new List<double>();
        var lastLeaseEnd = 0.0;
        foreach (var log in logs)
        {
            if (!File.Exists(log))
                continue;
            string[] lines;
            using (var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            using (var reader = new StreamReader(stream))
                lines = reader.ReadToEnd().Split('\n');
            foreach (var line in lines)
            {
                var stamp = Stamp().Match(line);
                if (!stamp.Success || !DateTime.TryParseExact(stamp.Groups[1].Value, "MM/dd/yyyy HH:mm:ss.fff", CultureInfo.InvariantCulture,
                        DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at) || at < killedAt)
                    continue;
                var after = (at - killedAt).TotalSeconds;
                foreach (var (phase, marker) in Phases)
                {
                    if (line.Contains(marker, StringComparison.Ordinal) && (!first.TryGetValue(phase, out var seen) || after < seen))
                        first[phase] = after;
                }
                var ran = RanOut().Match(line);
                if (ran.Success)
                {
                    leaseWaits.Add(double.Parse(ran.Groups[1].Value, CultureInfo.InvariantCulture) / 1000);
                    lastLeaseEnd = Math.Max(lastLeaseEnd, after);
                }
            }
        }
        var text = new StringBuilder("HA breakdown (s after kill -9, first line on a surviving host): ");
        foreach (var phase in new[] { "unreachable", "downed", "removed", "lease_wait_started", "placed_again" })
            text.Append(CultureInfo.InvariantCulture, $"{phase}={(first.TryGetValue(phase, out var s) ? s.ToString("0.00", CultureInfo.InvariantCulture) : "-")} ");
        text.Append(CultureInfo.InvariantCulture,
            $"lease_waits={leaseWaits.Count} lease_wait_max_s={(leaseWaits.Count > 0 ? leaseWaits.Max() : 0):0.00} last_lease_end={lastLeaseEnd:0.00} running={recovery:0.00}");
        return text.ToString();
    }

    [GeneratedRegex(@"^\[\w+\]\[(\d\d/\d\d/\d{4} \d\d:\d\d:\d\d\.\d{3})Z\]")]
    private static partial Regex Stamp();

    [GeneratedRegex(@"heartbeat interval is growing too large for address \S+: (\d+) millis")]
    private static partial Regex Gap();

    [GeneratedRegex(@"ran out after a (\d+) ms wait")]
    private static partial Regex RanOut();
}
