using System.Runtime.InteropServices;
using Cluster.Vmm.Native;

namespace Cluster.Vmm.Worker;

/// <summary>
/// A worker's standard streams: a worker outlives its node, so it must not keep the node's stdout and stderr (a pipe
/// that a supervisor or a test reads until its end would never end); it writes to its own log file and reads nothing.
/// </summary>
public static class WorkerStdio
{
    /// <summary>Points stdout and stderr at <paramref name="logPath"/> (appended, created 0640) and stdin at /dev/null; null, or why not.</summary>
    public static string? Redirect(string logPath)
    {
        // .NET's Console keeps its own duplicates of the standard fds (opened before this runs): every fd that refers
        // to what stdout or stderr referred to is pointed at the log, not only 1 and 2.
        var inherited = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fd in new[] { 1, 2 })
        {
            if (Target(fd) is { } target && (target.StartsWith("pipe:", StringComparison.Ordinal) || target.StartsWith("socket:", StringComparison.Ordinal)))
                inherited.Add(target);
        }
        var log = Libc.open(logPath, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_APPEND, Convert.ToInt32("640", 8));
        if (log < 0)
            return $"cannot open {logPath}: errno {Marshal.GetLastPInvokeError()}";
        try
        {
            if (Libc.dup2(log, 1) < 0 || Libc.dup2(log, 2) < 0)
                return $"cannot redirect the standard streams to {logPath}: errno {Marshal.GetLastPInvokeError()}";
            foreach (var entry in Directory.EnumerateFiles("/proc/self/fd"))
            {
                if (int.TryParse(Path.GetFileName(entry), out var fd) && fd > 2 && fd != log && Target(fd) is { } target && inherited.Contains(target))
                    Libc.dup2(log, fd);
            }
        }
        finally
        {
            Libc.close(log);
        }
        var devNull = Libc.open("/dev/null", Libc.O_RDONLY, 0);
        if (devNull >= 0)
        {
            Libc.dup2(devNull, 0);
            Libc.close(devNull);
        }
        return null;
    }

    /// <summary>What fd <paramref name="fd"/> refers to (for example <c>pipe:[1234]</c>), or null.</summary>
    private static string? Target(int fd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
