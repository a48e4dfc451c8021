using Cluster.Contracts.Hosts;
using Cluster.Vmm.Devices;

namespace Cluster.Actors.Clustering;

/// <summary>
/// A host's disk and network totals (<see cref="HostStatus.Io"/>), kept by its agent from its guests' counters: each
/// status tick adds what every guest's counters grew since the last tick. A guest's counters start from zero each run
/// (a restart, an arrival by migration: new devices), so a new run counts whole and a guest that ends or leaves takes
/// nothing back; the total only goes down when the agent starts again. Not thread-safe: the agent's.
/// </summary>
public sealed class HostIoAccount
{
    private readonly Dictionary<string, (long Run, IoTotals Seen)> _last = new(StringComparer.Ordinal);

    /// <summary>Everything counted so far.</summary>
    public IoTotals Total { get; private set; } = IoTotals.Zero;

    /// <summary>Takes run <paramref name="run"/> of <paramref name="vmId"/>'s counters now; returns them as the contract carries them.</summary>
    public IoTotals Observe(string vmId, long run, IoCounters counters)
    {
        var now = Of(counters);
        Total += _last.TryGetValue(vmId, out var last) && last.Run == run ? IoTotals.Growth(last.Seen, now) : now;
        _last[vmId] = (run, now);
        return now;
    }

    /// <summary>Forgets the guests no longer running here (their counted traffic stays in <see cref="Total"/>).</summary>
    public void KeepOnly(IEnumerable<string> running)
    {
        var keep = running.ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _last.Keys.Where(id => !keep.Contains(id)).ToList())
            _last.Remove(gone);
    }

    /// <summary>The contract's form of a VMM's counters.</summary>
    public static IoTotals Of(IoCounters c) =>
        new(c.DiskReadBytes, c.DiskWriteBytes, c.DiskReadOps, c.DiskWriteOps, c.NetRxBytes, c.NetTxBytes, c.NetRxPackets, c.NetTxPackets);
}
