using Cluster.Contracts.Hosts;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Disks;

/// <summary>
/// The identity of a disk image on shared storage: a random UUID in a small file beside the image,
/// <c>IMG.cluster-id</c>, created the first time a VM starts on the image. Two hosts that see the same file
/// at a path see the same identity; a namesake (another file at the same path on another host) has none or
/// another one. Looking is cheap (a stat and a read of 36 bytes); binding creates the file at most once, atomically
/// (an exclusive create; a reader that finds it still empty reads again).
/// </summary>
public static class DiskIdentity
{
    /// <summary>The suffix of the identity file beside an image.</summary>
    public const string Suffix = ".cluster-id";

    /// <summary>The identity file of <paramref name="imagePath"/>.</summary>
    public static string FileOf(string imagePath) => imagePath + Suffix;

    /// <summary>
    /// What this host sees at <paramref name="path"/>: whether the image exists, and its identity if it has one (an identity
    /// file that cannot be read shows as "unreadable: why", which matches no VM's identity). Never throws for I/O.
    /// </summary>
    public static DiskSeen Look(string path)
    {
        if (!File.Exists(path))
            return new DiskSeen(path, false, null);
        return new DiskSeen(path, true, ReadIdentity(path));
    }

    /// <summary>
    /// Checks that this host may run <paramref name="disks"/>: each image exists and, where the spec records an
    /// identity, carries it. Images without a recorded identity are bound: their identity is read, or created.
    /// Returns the identity of every disk in order, or null with <paramref name="problem"/> naming the path (and both
    /// identities for a namesake).
    /// </summary>
    public static IReadOnlyList<string>? Bind(IReadOnlyList<DiskSpec> disks, string host, out string? problem)
    {
        problem = null;
        var identities = new List<string>(disks.Count);
        foreach (var disk in disks)
        {
            var seen = Look(disk.Path);
            if (Problem(disk, seen, host) is { } why)
            {
                problem = why;
                return null;
            }
            if (seen.Identity is { } identity && !Guid.TryParseExact(identity, "D", out _))
            {
                problem = $"{FileOf(disk.Path)} holds no UUID ({identity}); remove it or restore it";
                return null;
            }
            if (seen.Identity is { } known)
            {
                identities.Add(known);
                continue;
            }
            try
            {
                identities.Add(Create(disk.Path));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problem = $"cannot record the identity of disk {disk.Path} in {FileOf(disk.Path)}: {e.Message}";
                return null;
            }
        }
        return identities;
    }

    /// <summary>
    /// Why <paramref name="host"/>, seeing <paramref name="seen"/>, cannot run <paramref name="disk"/>, or null when it can:
    /// the image is missing, or it carries another identity than the one the VM recorded (a namesake).
    /// </summary>
    public static string? Problem(DiskSpec disk, DiskSeen? seen, string host) => seen switch
    {
        null => $"{host} has not reported on disk {disk.Path} yet",
        { Exists: false } => $"{host} does not see disk {disk.Path}",
        _ when disk.Identity is { } expected && seen.Identity != expected =>
            $"{host} sees another file at disk {disk.Path} (a namesake): its identity is {seen.Identity ?? "none"}, the VM's disk is {expected}",
        _ => null,
    };

    private static string? ReadIdentity(string path)
    {
        try
        {
            var text = ReadSettled(FileOf(path));
            return Guid.TryParseExact(text, "D", out var id) ? id.ToString("D") : $"unreadable: {(text.Length == 0 ? "empty" : text[..Math.Min(text.Length, 40)])}";
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"unreadable: {e.Message}";
        }
    }

    /// <summary>
    /// The trimmed text of an identity file. An empty file is a writer between its exclusive create and its write
    /// (<see cref="Create"/>): it is read again for up to a second before it counts as empty (a writer that crashed there).
    /// </summary>
    private static string ReadSettled(string file)
    {
        var text = File.ReadAllText(file).Trim();
        for (var attempt = 0; text.Length == 0 && attempt < 50; attempt++)
        {
            Thread.Sleep(20);
            text = File.ReadAllText(file).Trim();
        }
        return text;
    }

    /// <summary>
    /// Creates the identity file with an exclusive create (O_CREAT|O_EXCL, atomic on local file systems and NFS), or reads
    /// the one another writer created first. A rename cannot do this: it replaces a file that appeared meanwhile, and
    /// .NET's no-overwrite move falls back to check-then-rename where hard links are refused.
    /// </summary>
    private static string Create(string path)
    {
        var target = FileOf(path);
        var identity = Guid.NewGuid().ToString("D");
        FileStream created;
        try
        {
            created = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        }
        catch (IOException) when (File.Exists(target))
        {
            return ReadIdentity(path) ?? throw new IOException($"{target} appeared but cannot be read");
        }
        using (created)
        {
            created.Write(System.Text.Encoding.ASCII.GetBytes(identity + "\n"));
            created.Flush(flushToDisk: true);
        }
        return identity;
    }
}
