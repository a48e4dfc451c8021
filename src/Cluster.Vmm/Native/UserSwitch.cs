using System.Globalization;
using System.Runtime.InteropServices;

namespace Cluster.Vmm.Native;

/// <summary>
/// Dropping a root process to an unprivileged user for good: no supplementary groups, then real, effective and saved gid,
/// then uid (so that nothing can switch back). glibc's set*id wrappers apply the change to every thread of the process
/// (the runtime's threads included), as POSIX asks.
/// </summary>
public static partial class UserSwitch
{
    // SAFETY: setgroups with a count of 0 and no list: the kernel reads no memory.
    [LibraryImport("libc", SetLastError = true)]
    private static partial int setgroups(nuint size, IntPtr list);

    // SAFETY: setresgid takes three integers; no memory is passed.
    [LibraryImport("libc", SetLastError = true)]
    private static partial int setresgid(uint rgid, uint egid, uint sgid);

    // SAFETY: setresuid takes three integers; no memory is passed.
    [LibraryImport("libc", SetLastError = true)]
    private static partial int setresuid(uint ruid, uint euid, uint suid);

    // SAFETY: chown on a path the marshaller passes as a NUL-terminated UTF-8 copy; no memory is kept.
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chown(string path, uint owner, uint group);

    // SAFETY: chmod on a path the marshaller passes as a NUL-terminated UTF-8 copy; no memory is kept.
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chmod(string path, uint mode);

    // SAFETY: geteuid takes nothing and cannot fail.
    [LibraryImport("libc")]
    private static partial uint geteuid();

    /// <summary>This process's effective uid.</summary>
    public static uint EffectiveUid => geteuid();

    /// <summary>
    /// The uid and gid of <paramref name="user"/>: a name or a number, looked up in /etc/passwd (a number that is not
    /// there keeps its own value as the gid). Null with the reason when unknown.
    /// </summary>
    public static (uint Uid, uint Gid)? Resolve(string user, out string? error)
    {
        error = null;
        bool numeric = uint.TryParse(user, NumberStyles.None, CultureInfo.InvariantCulture, out uint number);
        try
        {
            foreach (var line in File.ReadLines("/etc/passwd"))
            {
                var f = line.Split(':');
                if (f.Length < 4 || !uint.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint uid)
                    || !uint.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out uint gid))
                    continue;
                if (numeric ? uid == number : f[0] == user) return (uid, gid);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (!numeric)
            {
                error = $"cannot read /etc/passwd to find user '{user}': {e.Message}";
                return null;
            }
        }
        if (numeric) return (number, number);
        error = $"no user '{user}' in /etc/passwd";
        return null;
    }

    /// <summary>Gives <paramref name="path"/> to <paramref name="uid"/>:<paramref name="gid"/>.</summary>
    /// <exception cref="VmmException">chown failed.</exception>
    public static void Chown(string path, uint uid, uint gid)
    {
        if (chown(path, uid, gid) != 0)
            throw new VmmException($"cannot give {path} to {uid}:{gid} (errno {Marshal.GetLastPInvokeError()})", "worker-user", Marshal.GetLastPInvokeError());
    }

    /// <summary>Gives <paramref name="directory"/> to group <paramref name="gid"/> (its owner stays) with mode 1770: the
    /// group may create files there, and each may remove or replace only its own (the sticky bit).</summary>
    /// <exception cref="VmmException">chown or chmod failed.</exception>
    public static void ShareDirectory(string directory, uint gid)
    {
        Chown(directory, uint.MaxValue, gid);
        if (chmod(directory, 0x3f8 /* 01770 */) != 0)
            throw new VmmException($"cannot make {directory} mode 1770 (errno {Marshal.GetLastPInvokeError()})", "worker-user", Marshal.GetLastPInvokeError());
    }

    /// <summary>Becomes <paramref name="uid"/>:<paramref name="gid"/> with no supplementary groups, irrevocably.</summary>
    /// <exception cref="VmmException">a step failed (not root, or the kernel refused): the process must not go on.</exception>
    public static void DropTo(uint uid, uint gid)
    {
        if (setgroups(0, IntPtr.Zero) != 0) throw Failed("setgroups", uid, gid);
        if (setresgid(gid, gid, gid) != 0) throw Failed("setresgid", uid, gid);
        if (setresuid(uid, uid, uid) != 0) throw Failed("setresuid", uid, gid);
    }

    private static VmmException Failed(string call, uint uid, uint gid)
    {
        int errno = Marshal.GetLastPInvokeError();
        return new VmmException($"cannot become uid {uid} gid {gid}: {call} failed (errno {errno})", "worker-user", errno);
    }
}
