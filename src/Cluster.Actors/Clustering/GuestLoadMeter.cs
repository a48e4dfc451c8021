namespace Cluster.Actors.Clustering;

/// <summary>
/// The CPU load of each guest on this host, from readings of its CPU time taken at known moments (pure; the moments
/// are passed in). A guest's load is the CPU time it used per second of wall time between its oldest and newest
/// reading within the window, so a figure read late (a worker's stats arrive every 250 ms, later on a loaded host)
/// is divided by the time it really covers, not by the time between two of the agent's ticks, and one slow second
/// does not swing the rebalancer's picture.
/// </summary>
/// <param name="window">How far back readings count (<c>cluster-hypervisor.host.load-window</c>); a younger guest counts from its first reading.</param>
public sealed class GuestLoadMeter(TimeSpan window)
{
    private readonly Dictionary<string, List<(TimeSpan Cpu, DateTime At)>> _readings = new(StringComparer.Ordinal);

    /// <summary>A guest started or arrived: its first reading, so its first load already covers its time here.</summary>
    public void Begin(string vmId, TimeSpan cpu, DateTime at) => _readings[vmId] = [(cpu, at)];

    /// <summary>
    /// Adds a reading of <paramref name="vmId"/> (one no newer than the last is the same figure again and adds
    /// nothing) and returns its load over the window: 0 until two readings apart in time exist. A CPU time below the
    /// last one means the guest's clock restarted: it counts from this reading.
    /// </summary>
    public double Load(string vmId, TimeSpan cpu, DateTime at)
    {
        if (!_readings.TryGetValue(vmId, out var readings) || cpu < readings[^1].Cpu)
        {
            _readings[vmId] = [(cpu, at)];
            return 0;
        }
        if (at > readings[^1].At)
            readings.Add((cpu, at));
        // Keep the newest reading that is at least a window old as the start, and everything after it.
        var newest = readings[^1].At;
        var drop = 0;
        while (drop + 1 < readings.Count && newest - readings[drop + 1].At >= window)
            drop++;
        readings.RemoveRange(0, drop);
        var (first, last) = (readings[0], readings[^1]);
        var seconds = (last.At - first.At).TotalSeconds;
        return seconds > 0 ? Math.Max(0, (last.Cpu - first.Cpu).TotalSeconds / seconds) : 0;
    }

    /// <summary>Forgets every guest not in <paramref name="running"/>.</summary>
    public void KeepOnly(IReadOnlyCollection<string> running)
    {
        foreach (var gone in _readings.Keys.Where(id => !running.Contains(id)).ToList())
            _readings.Remove(gone);
    }
}
