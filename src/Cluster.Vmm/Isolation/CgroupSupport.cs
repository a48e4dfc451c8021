using Cluster.Vmm.Native;

namespace Cluster.Vmm.Isolation;

/// <summary>
/// What this machine offers for containing workers: the cgroup version, the controllers this layer uses
/// (memory, cpu, cpuacct, pids) and whether this process may create groups. Found from
/// /proc/self/mountinfo and /proc/self/cgroup, never by guessing paths. cgroup v2 is used when the unified
/// hierarchy gives this process's group memory, cpu and pids; otherwise v1 when separate hierarchies carry
/// them (a hybrid machine, such as one with an empty cgroup2 at /sys/fs/cgroup/unified, uses v1).
/// </summary>
public sealed class CgroupSupport
{
    /// <summary>The controllers a worker's group must have.</summary>
    public static readonly IReadOnlyList<string> RequiredControllers = ["memory", "cpu", "pids"];

    private static readonly HashSet<string> KnownV1Controllers =
    [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "blkio", "perf_event",
        "net_prio", "hugetlb", "pids", "rdma", "misc",
    ];

    private readonly IReadOnlyDictionary<string, CgroupHierarchy> _hierarchyOf;

    private CgroupSupport(CgroupVersion version, IReadOnlyDictionary<string, CgroupHierarchy> hierarchyOf, bool writable, string? unavailableReason)
    {
        Version = version;
        _hierarchyOf = hierarchyOf;
        Writable = writable;
        UnavailableReason = unavailableReason;
    }

    /// <summary>The interface in use; <see cref="CgroupVersion.None"/> where the required controllers are missing.</summary>
    public CgroupVersion Version { get; }

    /// <summary>The controllers found among memory, cpu, cpuacct and pids.</summary>
    public IReadOnlyList<string> Controllers => [.. _hierarchyOf.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Whether this process can create groups under its own in every hierarchy used.</summary>
    public bool Writable { get; }

    /// <summary>Why workers cannot be contained here, or null when they can.</summary>
    public string? UnavailableReason { get; }

    /// <summary>Whether workers can be contained here.</summary>
    public bool Usable => UnavailableReason is null;

    /// <summary>A line for logs: the version, the controllers and where this process's groups are.</summary>
    public string Description => Version switch
    {
        CgroupVersion.None => $"cgroups unusable: {UnavailableReason}",
        _ => $"cgroup {(Version == CgroupVersion.V2 ? "v2" : "v1")}, controllers {string.Join(",", Controllers)}, "
             + $"{(Writable ? "writable" : "not writable")}, own groups "
             + string.Join(" ", _hierarchyOf.Values.Select(h => h.OwnDirectory).Distinct(StringComparer.Ordinal))
             + (UnavailableReason is { } r ? $": {r}" : ""),
    };

    /// <summary>The hierarchy carrying <paramref name="controller"/>, or null.</summary>
    internal CgroupHierarchy? HierarchyOf(string controller) => _hierarchyOf.GetValueOrDefault(controller);

    /// <summary>Reads this process's mounts and groups.</summary>
    public static CgroupSupport Detect()
    {
        string mountinfo, selfCgroup;
        try
        {
            mountinfo = File.ReadAllText("/proc/self/mountinfo");
            selfCgroup = File.ReadAllText("/proc/self/cgroup");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new CgroupSupport(CgroupVersion.None, new Dictionary<string, CgroupHierarchy>(), false, $"cannot read /proc/self: {e.Message}");
        }
        return Detect(mountinfo, selfCgroup, ReadOrNull, dir => Libc.access(dir, Libc.W_OK) == 0);
    }

    private static string? ReadOrNull(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Detection from the text of /proc/self/mountinfo and /proc/self/cgroup, with the file system behind two functions.</summary>
    internal static CgroupSupport Detect(string mountinfo, string selfCgroup, Func<string, string?> readFile, Func<string, bool> canWrite)
    {
        var ownPaths = ParseSelfCgroup(selfCgroup);
        var v1 = new Dictionary<string, CgroupHierarchy>();
        CgroupHierarchy? unified = null;
        foreach (var line in mountinfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ');
            int sep = Array.IndexOf(f, "-");
            if (sep < 6 || sep + 3 >= f.Length) continue;
            string fsType = f[sep + 1], root = Unescape(f[3]), mountPoint = Unescape(f[4]);
            bool readOnly = f[5].Split(',').Contains("ro");
            if (fsType == "cgroup2" && unified is null && ownPaths.TryGetValue("", out var own2))
            {
                var dir = OwnDirectory(mountPoint, root, own2);
                var controllers = (readFile(Path.Combine(dir, "cgroup.controllers")) ?? "")
                    .Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
                unified = new CgroupHierarchy(mountPoint, controllers, true, readOnly, dir);
            }
            else if (fsType == "cgroup")
            {
                var controllers = f[sep + 3].Split(',').Where(KnownV1Controllers.Contains).ToHashSet(StringComparer.Ordinal);
                var own = controllers.Select(c => ownPaths.GetValueOrDefault(c)).FirstOrDefault(p => p is not null);
                if (controllers.Count == 0 || own is null) continue;
                var h = new CgroupHierarchy(mountPoint, controllers, false, readOnly, OwnDirectory(mountPoint, root, own));
                foreach (var c in controllers) v1.TryAdd(c, h);
            }
        }

        if (unified is not null && RequiredControllers.All(unified.Controllers.Contains))
        {
            var used = new[] { "memory", "cpu", "pids" }.ToDictionary(c => c, _ => unified, StringComparer.Ordinal);
            return Decide(CgroupVersion.V2, used, canWrite);
        }
        var missing = RequiredControllers.Where(c => !v1.ContainsKey(c)).ToList();
        if (missing.Count == 0)
        {
            var used = new[] { "memory", "cpu", "cpuacct", "pids" }.Where(v1.ContainsKey)
                .ToDictionary(c => c, c => v1[c], StringComparer.Ordinal);
            return Decide(CgroupVersion.V1, used, canWrite);
        }
        string v2Note = unified is null ? "no cgroup2 mount" : $"the cgroup2 hierarchy at {unified.MountPoint} gives this group only [{string.Join(",", unified.Controllers.Order(StringComparer.Ordinal))}]";
        return new CgroupSupport(CgroupVersion.None, new Dictionary<string, CgroupHierarchy>(), false,
            $"no cgroup v1 hierarchy for {string.Join(", ", missing)} and {v2Note}");
    }

    private static CgroupSupport Decide(CgroupVersion version, Dictionary<string, CgroupHierarchy> used, Func<string, bool> canWrite)
    {
        foreach (var h in used.Values.Distinct())
        {
            if (h.ReadOnly) return new CgroupSupport(version, used, false, $"{h.MountPoint} is mounted read-only");
            if (!canWrite(h.OwnDirectory)) return new CgroupSupport(version, used, false, $"{h.OwnDirectory} is not writable by this process");
        }
        return new CgroupSupport(version, used, true, null);
    }

    /// <summary>/proc/self/cgroup as controller (or "" for the v2 line, "0::") to path.</summary>
    private static Dictionary<string, string> ParseSelfCgroup(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(':', 3);
            if (parts.Length != 3) continue;
            if (parts[0] == "0" && parts[1].Length == 0) result.TryAdd("", parts[2]);
            else foreach (var c in parts[1].Split(',')) result.TryAdd(c, parts[2]);
        }
        return result;
    }

    private static string OwnDirectory(string mountPoint, string root, string ownPath)
    {
        string relative = root != "/" && (ownPath == root || ownPath.StartsWith(root + "/", StringComparison.Ordinal))
            ? ownPath[root.Length..]
            : ownPath;
        return (mountPoint.TrimEnd('/') + "/" + relative.Trim('/')).TrimEnd('/') is { Length: > 0 } d ? d : "/";
    }

    /// <summary>Undoes mountinfo's octal escapes (<c>\040</c> for a space).</summary>
    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new System.Text.StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && IsOctal(s, i + 1))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private static bool IsOctal(string s, int at) =>
        at + 3 <= s.Length && s[at] is >= '0' and <= '7' && s[at + 1] is >= '0' and <= '7' && s[at + 2] is >= '0' and <= '7';
}
