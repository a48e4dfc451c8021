using System.Diagnostics;
using System.Globalization;

namespace Cluster.Actors.Clustering;

/// <summary>
/// An append-only record of when this host's guests ran: lines "VMID start NS" when vCPUs are about to
/// run and "VMID end NS" once they are paused or stopped, NS from the monotonic clock
/// (<see cref="Stopwatch.GetTimestamp"/>, CLOCK_MONOTONIC on Linux, shared by every process of the
/// machine). Hosts of one machine can then be checked for overlapping runs of a VM. Thread-safe.
/// </summary>
public sealed class RunLog(string path)
{
    private readonly Lock _gate = new();

    /// <summary>The file written.</summary>
    public string FilePath { get; } = path;

    /// <summary>Nanoseconds of the monotonic clock.</summary>
    public static long NowNs() => (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));

    /// <summary>Records that <paramref name="vmId"/>'s vCPUs are about to run.</summary>
    public void Start(string vmId) => Write(vmId, "start");

    /// <summary>Records that <paramref name="vmId"/>'s vCPUs no longer run.</summary>
    public void End(string vmId) => Write(vmId, "end");

    private void Write(string vmId, string what)
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"{vmId} {what} {NowNs()}\n");
        lock (_gate)
            File.AppendAllText(FilePath, line);
    }
}
