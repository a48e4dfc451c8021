namespace Cluster.Vmm.Worker;

/// <summary>The workers of a runtime folder, found by their records (<see cref="WorkerRecord"/>).</summary>
public static class WorkerDirectory
{
    /// <summary>
    /// The live workers recorded in <paramref name="directory"/>: a record whose process is gone (or whose
    /// socket is) is stale and removed, with its socket. A missing folder has none.
    /// </summary>
    public static IReadOnlyList<WorkerRecord> Scan(string directory)
    {
        if (!Directory.Exists(directory)) return [];
        var live = new List<WorkerRecord>();
        foreach (var path in Directory.GetFiles(directory, "*.json"))
        {
            var record = WorkerRecord.Read(path);
            if (record is null) continue;
            if (IsAlive(record.Pid) && File.Exists(record.Socket))
            {
                live.Add(record);
                continue;
            }
            TryDelete(path);
            if (!IsAlive(record.Pid)) TryDelete(record.Socket);
        }
        return live.OrderBy(r => r.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>Whether process <paramref name="pid"/> exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        if (pid <= 0) return false;
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] != 'Z';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
