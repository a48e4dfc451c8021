using System.Globalization;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>One run of a VM's vCPUs on one host, in monotonic nanoseconds; End is long.MaxValue while it still runs.</summary>
public sealed record RunInterval(string Vm, int Host, long Start, long End);

/// <summary>Reads the hosts' run logs ("VM start|end NS" lines) into intervals and checks them.</summary>
public static class RunIntervals
{
    /// <summary>The intervals of every host's log; a run left open ends at <paramref name="endOfOpen"/>(host).</summary>
    public static List<RunInterval> Read(IReadOnlyList<string> logs, Func<int, long> endOfOpen)
    {
        var intervals = new List<RunInterval>();
        for (var i = 0; i < logs.Count; i++)
        {
            if (!File.Exists(logs[i]))
                continue;
            var open = new Dictionary<string, long>();
            foreach (var line in File.ReadAllLines(logs[i]))
            {
                var parts = line.Split(' ');
                var ns = long.Parse(parts[2], CultureInfo.InvariantCulture);
                if (parts[1] == "start")
                    open[parts[0]] = ns;
                else if (open.Remove(parts[0], out var start))
                    intervals.Add(new RunInterval(parts[0], i, start, ns));
            }
            foreach (var (vm, start) in open)
                intervals.Add(new RunInterval(vm, i, start, endOfOpen(i)));
        }
        return intervals;
    }

    /// <summary>Fails when a VM ran on two hosts at one instant.</summary>
    public static void AssertNoOverlap(IReadOnlyList<RunInterval> intervals)
    {
        foreach (var a in intervals)
            foreach (var b in intervals.Where(b => b.Vm == a.Vm && b.Host != a.Host))
                Assert.False(a.Start < b.End && b.Start < a.End, $"{a.Vm} ran on hosts {a.Host} and {b.Host} at once: {a} {b}");
    }

    /// <summary>Fails unless each of <paramref name="vms"/> has exactly one run still going.</summary>
    public static void AssertEachRunsOnce(IReadOnlyList<RunInterval> intervals, IEnumerable<string> vms)
    {
        foreach (var vm in vms)
            Assert.Single(intervals, x => x.Vm == vm && x.End == long.MaxValue);
    }
}
