using Cluster.Contracts.Hosts;

namespace Cluster.Node.Http.History;

/// <summary>
/// Disk and network rates (bytes per second) from successive samples of cumulative counters (<see cref="IoTotals"/>), one
/// series each of <see cref="Names"/>, per key (a host, or a VM). A rate needs two samples of the same source: the first
/// sample of a key, one whose source changed (a VM now on another host, whose counters started again there), one with no
/// counters, and a counter that went back (its guest restarted, its node restarted) give no rate (NaN, a gap in the
/// graph) and start the next one from there: a rate is never negative. Not thread-safe: the <see cref="HistoryBook"/>'s.
/// </summary>
public sealed class IoRates
{
    /// <summary>The series, in the order of <see cref="Next"/>'s values: disk bytes read and written, network bytes received and sent, per second.</summary>
    public static readonly IReadOnlyList<string> Names = ["diskRead", "diskWrite", "netRx", "netTx"];

    private readonly Dictionary<string, (long At, string Source, IoTotals Io)> _last = new(StringComparer.Ordinal);

    /// <summary>The rates of <paramref name="key"/> between its last sample and this one, taken at <paramref name="at"/> (Unix ms)
    /// from <paramref name="source"/>; NaN where there is none.</summary>
    public double[] Next(string key, string source, long at, IoTotals? io)
    {
        var rates = new[] { double.NaN, double.NaN, double.NaN, double.NaN };
        if (io is null)
        {
            _last.Remove(key);
            return rates;
        }
        if (_last.TryGetValue(key, out var last) && last.Source == source)
        {
            var seconds = (at - last.At) / 1000.0;
            rates[0] = Rate(last.Io.DiskReadBytes, io.DiskReadBytes, seconds);
            rates[1] = Rate(last.Io.DiskWriteBytes, io.DiskWriteBytes, seconds);
            rates[2] = Rate(last.Io.NetRxBytes, io.NetRxBytes, seconds);
            rates[3] = Rate(last.Io.NetTxBytes, io.NetTxBytes, seconds);
        }
        _last[key] = (at, source, io);
        return rates;
    }

    /// <summary>Forgets the keys not in <paramref name="present"/>.</summary>
    public void KeepOnly(IEnumerable<string> present)
    {
        var keep = present.ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _last.Keys.Where(k => !keep.Contains(k)).ToList())
            _last.Remove(gone);
    }

    /// <summary>How fast a counter grew from <paramref name="before"/> to <paramref name="now"/> in <paramref name="seconds"/>:
    /// NaN when it went back (a reset) or no time passed.</summary>
    public static double Rate(long before, long now, double seconds) =>
        now < before || seconds <= 0 ? double.NaN : (now - before) / seconds;
}
