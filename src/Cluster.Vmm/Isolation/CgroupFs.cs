using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Cluster.Vmm.Native;

namespace Cluster.Vmm.Isolation;

/// <summary>
/// Reads and writes cgroup files. A write is one write(2) of the whole value, as the kernel expects,
/// and a refusal becomes a <see cref="CgroupException"/> carrying the errno and the file.
/// </summary>
internal static class CgroupFs
{
    /// <summary>What the kernel reports for "no limit" in v1 byte counters: anything from 2^62 up.</summary>
    public const ulong V1Unlimited = 1UL << 62;

    public static string Read(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CgroupException($"cannot read {path}: {e.Message}", path, 0, e);
        }
    }

    public static ulong ReadULong(string path) => ParseULong(Read(path).Trim(), path);

    /// <summary>A file of "key value" lines (memory.events, cpu.stat, memory.oom_control).</summary>
    public static Dictionary<string, ulong> ReadKeyValues(string path)
    {
        var result = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var line in Read(path).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var v)) result[parts[0]] = v;
        }
        return result;
    }

    public static ulong ParseULong(string text, string path) =>
        ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new CgroupException($"{path} holds '{text}', not a number", path);

    public static void Write(string path, string value)
    {
        int errno = TryWrite(path, value);
        if (errno != 0)
            throw new CgroupException($"cannot write '{value}' to {path}: {Marshal.GetPInvokeErrorMessage(errno)}", path, errno);
    }

    /// <summary>Writes <paramref name="value"/> in one write(2); 0, or the errno of the open or the write.</summary>
    public static unsafe int TryWrite(string path, string value)
    {
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try { handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write); }
        catch (FileNotFoundException) { return Libc.ENOENT; }
        catch (DirectoryNotFoundException) { return Libc.ENOENT; }
        catch (UnauthorizedAccessException) { return Libc.EACCES; }
        using (handle)
        {
            var bytes = Encoding.ASCII.GetBytes(value);
            bool added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                fixed (byte* p = bytes)
                {
                    // SAFETY: the fd is kept open by the reference taken above; the kernel reads
                    // bytes.Length bytes from the pinned array and keeps nothing.
                    nint n = Libc.write((int)handle.DangerousGetHandle(), p, (nuint)bytes.Length);
                    return n == bytes.Length ? 0 : n < 0 ? Marshal.GetLastPInvokeError() : Libc.EINVAL;
                }
            }
            finally
            {
                if (added) handle.DangerousRelease();
            }
        }
    }

    /// <summary>Creates a group directory; true when it was made, false when it existed.</summary>
    public static bool MakeGroup(string path)
    {
        if (Directory.Exists(path)) return false;
        try
        {
            Directory.CreateDirectory(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CgroupException($"cannot create {path}: {e.Message}", path, 0, e);
        }
    }

    /// <summary>rmdir(2) of a group: 0, or the errno (EBUSY while tasks remain, ENOENT when it is gone).</summary>
    public static int RemoveGroup(string path) => Libc.rmdir(path) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>The process ids in a group's cgroup.procs.</summary>
    public static IReadOnlyList<int> Processes(string dir)
    {
        var text = Read(Path.Combine(dir, "cgroup.procs"));
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => int.Parse(l, CultureInfo.InvariantCulture))];
    }
}
