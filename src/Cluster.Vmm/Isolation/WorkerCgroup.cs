using System.Globalization;
using System.Text.RegularExpressions;
using Cluster.Vmm.Native;

namespace Cluster.Vmm.Isolation;

/// <summary>
/// The cgroup of one worker process, at <c>OWN/PARENT/NAME</c> in each hierarchy used, where OWN is the
/// group this process (the node) is in (from /proc/self/cgroup), PARENT is the product's group, by default
/// <see cref="DefaultParent"/> (a node passes <c>cluster-hypervisor/NODE-NAME</c>), and NAME is the worker
/// (a VM id). Nesting under the node's own group keeps workers inside whatever contains the node (a
/// container, a systemd service), and needs no write access above it.
/// <para>
/// On cgroup v2, controllers can only be handed to children of a group without processes (the "no
/// internal processes" rule); where the node's own group is not the root and holds processes, the node
/// moves itself into a leaf <see cref="V2NodeLeaf"/> beside PARENT first, as systemd's delegation
/// guidelines describe. v1 has no such rule.
/// </para>
/// </summary>
public sealed partial class WorkerCgroup : IWorkerCgroup
{
    /// <summary>The product's group under the node's own.</summary>
    public const string DefaultParent = "cluster-hypervisor";

    /// <summary>On cgroup v2, the leaf the node moves itself into so that its own group can delegate controllers.</summary>
    public const string V2NodeLeaf = "cluster-node-self";

    private readonly CgroupPaths _paths;

    private WorkerCgroup(string name, string parent, CgroupVersion version, CgroupPaths paths)
    {
        Name = name;
        Parent = parent;
        Version = version;
        _paths = paths;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The product's group this worker's group is in, relative to the node's own.</summary>
    public string Parent { get; }

    /// <summary>The cgroup interface in use.</summary>
    public CgroupVersion Version { get; }

    /// <summary>The group's directories, one per hierarchy.</summary>
    public IReadOnlyList<string> Directories => _paths.Distinct;

    /// <summary>
    /// Creates the group with <paramref name="limits"/> (or, when it exists, as after a node restart,
    /// takes it over and writes the limits again).
    /// </summary>
    /// <exception cref="CgroupException">cgroups are unusable here, or the kernel refused a step.</exception>
    public static WorkerCgroup Create(string name, CgroupLimits limits, string parent = DefaultParent)
    {
        var error = ValidateName(name, nameof(name)) ?? ValidateParent(parent) ?? limits.Validate();
        if (error is not null) throw new CgroupException(error);
        var support = CgroupSupport.Detect();
        if (!support.Usable) throw new CgroupException(support.UnavailableReason!);
        var paths = PathsOf(support, parent, name);
        if (support.Version == CgroupVersion.V2) PrepareV2(support, parent);
        else PrepareV1(support, parent);
        foreach (var dir in paths.Distinct) CgroupFs.MakeGroup(dir);
        var group = new WorkerCgroup(name, parent, support.Version, paths);
        group.SetLimits(limits);
        return group;
    }

    /// <summary>
    /// <see cref="Create"/>, or null with <paramref name="reason"/> (for the log) where cgroups are
    /// unavailable, not writable or refuse the limits; the caller then runs the worker uncontained.
    /// </summary>
    public static WorkerCgroup? TryCreate(string name, CgroupLimits limits, out string? reason) =>
        TryCreate(name, limits, DefaultParent, out reason);

    /// <inheritdoc cref="TryCreate(string, CgroupLimits, out string?)"/>
    public static WorkerCgroup? TryCreate(string name, CgroupLimits limits, string parent, out string? reason)
    {
        try
        {
            reason = null;
            return Create(name, limits, parent);
        }
        catch (CgroupException e)
        {
            reason = e.Message;
            return null;
        }
    }

    /// <summary>The existing group of worker <paramref name="name"/>, for a restarted node to re-attach to; null when there is none.</summary>
    public static WorkerCgroup? Find(string name, string parent = DefaultParent)
    {
        if (ValidateName(name, nameof(name)) is not null || ValidateParent(parent) is not null) return null;
        var support = CgroupSupport.Detect();
        if (support.Version == CgroupVersion.None) return null;
        var paths = PathsOf(support, parent, name);
        return paths.Distinct.All(Directory.Exists) ? new WorkerCgroup(name, parent, support.Version, paths) : null;
    }

    /// <summary>The names of the worker groups under <paramref name="parent"/> (those present in every hierarchy).</summary>
    public static IReadOnlyList<string> List(string parent = DefaultParent)
    {
        if (ValidateParent(parent) is not null) return [];
        var support = CgroupSupport.Detect();
        if (support.Version == CgroupVersion.None) return [];
        var parentDir = Path.Combine(BaseOf(support.HierarchyOf("memory")!), parent);
        if (!Directory.Exists(parentDir)) return [];
        return [.. Directory.EnumerateDirectories(parentDir).Select(Path.GetFileName).OfType<string>()
            .Where(n => Find(n, parent) is not null).Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// Removes the worker groups under <paramref name="parent"/> that hold no process and were made more than
    /// <paramref name="olderThan"/> ago, except <paramref name="keep"/>: groups left by workers that ended with their node
    /// (a host crash, SIGKILL) that no node re-attached to. Younger groups are left alone (a node sharing the parent may be
    /// about to move a worker it is starting into one). Nodes sharing the parent may sweep at the same time: a group that
    /// vanishes meanwhile is skipped, never an error. Returns how many were removed.
    /// </summary>
    public static int SweepEmpty(string parent, TimeSpan olderThan, IReadOnlySet<string> keep)
    {
        if (ValidateParent(parent) is not null) return 0;
        var support = CgroupSupport.Detect();
        if (!support.Usable || support.Version == CgroupVersion.None) return 0;
        var cutoff = DateTime.UtcNow - olderThan;
        var names = new[] { "memory", "cpu", "cpuacct", "pids" }.Select(support.HierarchyOf).OfType<CgroupHierarchy>().Distinct()
            .Select(h => Path.Combine(BaseOf(h), parent)).Where(Directory.Exists)
            .SelectMany(Directory.EnumerateDirectories).Select(Path.GetFileName).OfType<string>()
            .Where(n => ValidateName(n, nameof(n)) is null && !keep.Contains(n)).ToHashSet(StringComparer.Ordinal);
        int removed = 0;
        foreach (var name in names)
        {
            try
            {
                var dirs = PathsOf(support, parent, name).Distinct.Where(Directory.Exists).ToList();
                if (dirs.Count == 0 || dirs.Any(d => Directory.GetLastWriteTimeUtc(d) > cutoff || CgroupFs.Processes(d).Count > 0))
                    continue;
                if (new WorkerCgroup(name, parent, support.Version, PathsOf(support, parent, name)).Delete(TimeSpan.Zero))
                    removed++;
            }
            catch (Exception e) when (e is CgroupException or IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile (another node sharing the parent swept it first: two nodes starting at once) or not ours
                // to remove (permissions): left as it is.
            }
        }
        return removed;
    }

    /// <inheritdoc />
    public void AddProcess(int pid)
    {
        foreach (var dir in _paths.Distinct) CgroupFs.Write(Path.Combine(dir, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));
    }

    /// <inheritdoc />
    public IReadOnlyList<int> Processes() => CgroupFs.Processes(_paths.Memory);

    /// <inheritdoc />
    public CgroupLimits Limits() => Version == CgroupVersion.V2 ? CgroupV2Files.ReadLimits(_paths) : CgroupV1Files.ReadLimits(_paths);

    /// <inheritdoc />
    public void SetLimits(CgroupLimits limits)
    {
        if (limits.Validate() is { } error) throw new CgroupException(error);
        if (Version == CgroupVersion.V2) CgroupV2Files.ApplyLimits(_paths, limits);
        else CgroupV1Files.ApplyLimits(_paths, limits);
    }

    /// <inheritdoc />
    public CgroupUsage Usage() => Version == CgroupVersion.V2 ? CgroupV2Files.ReadUsage(_paths) : CgroupV1Files.ReadUsage(_paths);

    /// <inheritdoc />
    public bool Delete(TimeSpan? wait = null)
    {
        var deadline = DateTime.UtcNow + (wait ?? TimeSpan.FromSeconds(2));
        var remaining = _paths.Distinct.ToList();
        while (true)
        {
            remaining.RemoveAll(dir =>
            {
                int errno = CgroupFs.RemoveGroup(dir);
                if (errno is 0 or Libc.ENOENT) return true;
                if (errno is Libc.EBUSY or Libc.ENOTEMPTY) return false;
                throw new CgroupException($"cannot remove {dir}: errno {errno}", dir, errno);
            });
            if (remaining.Count == 0) return true;
            if (DateTime.UtcNow >= deadline) return false;
            Thread.Sleep(10);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Parent}/{Name} ({string.Join(" ", Directories)})";

    private static CgroupPaths PathsOf(CgroupSupport support, string parent, string name)
    {
        string Dir(string controller) => Path.Combine(BaseOf(support.HierarchyOf(controller)!), parent, name);
        return new CgroupPaths(Dir("memory"), Dir("cpu"), support.HierarchyOf("cpuacct") is null ? null : Dir("cpuacct"), Dir("pids"));
    }

    /// <summary>Where the product's groups go in a hierarchy: the node's own group, or above the leaf it moved into on v2.</summary>
    private static string BaseOf(CgroupHierarchy h) =>
        h.Unified && Path.GetFileName(h.OwnDirectory) == V2NodeLeaf ? Path.GetDirectoryName(h.OwnDirectory)! : h.OwnDirectory;

    private static void PrepareV1(CgroupSupport support, string parent)
    {
        var cpu = support.HierarchyOf("cpu")!;
        foreach (var h in new[] { "memory", "cpu", "cpuacct", "pids" }.Select(support.HierarchyOf).OfType<CgroupHierarchy>().Distinct())
        {
            var dir = h.OwnDirectory;
            foreach (var segment in parent.Split('/'))
            {
                dir = Path.Combine(dir, segment);
                if (CgroupFs.MakeGroup(dir) && h == cpu) CgroupV1Files.WeighParent(dir);
            }
        }
    }

    private static void PrepareV2(CgroupSupport support, string parent)
    {
        var h = support.HierarchyOf("memory")!;
        var dir = BaseOf(h);
        if (dir == h.OwnDirectory && dir != h.MountPoint.TrimEnd('/') && CgroupFs.Processes(dir).Count > 0)
        {
            var leaf = Path.Combine(dir, V2NodeLeaf);
            CgroupFs.MakeGroup(leaf);
            CgroupFs.Write(Path.Combine(leaf, "cgroup.procs"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            if (CgroupFs.Processes(dir).Count > 0)
                throw new CgroupException($"{dir} holds processes other than this node's, so it cannot delegate controllers (cgroup v2 allows no internal processes); start the node in a group of its own", dir);
        }
        foreach (var segment in parent.Split('/'))
        {
            CgroupV2Files.EnableControllers(dir);
            dir = Path.Combine(dir, segment);
            if (CgroupFs.MakeGroup(dir)) CgroupV2Files.WeighParent(dir);
        }
        CgroupV2Files.EnableControllers(dir);
    }

    private static string? ValidateName(string name, string what) =>
        SegmentPattern().IsMatch(name) ? null : $"{what} '{name}' is not a group name (letters, digits, '.', '_', '-'; at most 64; not starting with '.')";

    private static string? ValidateParent(string parent) =>
        parent.Split('/').Select(s => ValidateName(s, "parent segment")).FirstOrDefault(e => e is not null);

    [GeneratedRegex("^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex SegmentPattern();
}
