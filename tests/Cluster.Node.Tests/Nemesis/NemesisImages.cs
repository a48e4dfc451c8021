using System.Diagnostics;

namespace Cluster.Node.Tests.Nemesis;

/// <summary>
/// The VMs' image directory, shared by the three hosts (the namespaces share the file system): a small tmpfs of its own
/// (<see cref="TmpfsSize"/>) that every node's <c>DATA/images</c> links to (the node resolves the link and allows what lies
/// under it), holding the disk VM's sparse raw disk, which the guest fills slowly. <see cref="Fill"/> fills the file system
/// to its last byte (the guest's next write into a hole of its disk fails with ENOSPC); <see cref="Free"/> deletes the filler.
/// </summary>
internal sealed class NemesisImages : IDisposable
{
    /// <summary>The tmpfs's size; the disk (<see cref="DiskBytes"/>) is smaller, so the guest alone never fills it.</summary>
    private const string TmpfsSize = "64m";

    public const long DiskBytes = 48L << 20;

    private readonly string _dir;
    private bool _mounted;

    public NemesisImages(string data)
    {
        _dir = Path.Combine(data, "images");
        Directory.CreateDirectory(_dir);
        Run("mount", "-t", "tmpfs", "-o", $"size={TmpfsSize}", "nemesis-images", _dir);
        _mounted = true;
    }

    /// <summary>Links node data directory <paramref name="nodeData"/>'s <c>images</c> to the shared directory.</summary>
    public void Link(string nodeData)
    {
        Directory.CreateDirectory(nodeData);
        var link = Path.Combine(nodeData, "images");
        if (!Directory.Exists(link))
            Directory.CreateSymbolicLink(link, _dir);
    }

    /// <summary>A sparse raw disk of <see cref="DiskBytes"/> named <paramref name="name"/>; its path.</summary>
    public string CreateDisk(string name)
    {
        var path = Path.Combine(_dir, name);
        using var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        f.SetLength(DiskBytes);
        return path;
    }

    private string Filler => Path.Combine(_dir, "filler");

    /// <summary>Fills the file system to its last byte; says how much it wrote and how much the disk held then.</summary>
    public string Fill() => $"(the images' disk filled with {FillUp(Filler) >> 20} MiB)";

    /// <summary>Writes <paramref name="filler"/> until its file system is full to the last byte; the bytes written.</summary>
    public static long FillUp(string filler)
    {
        long written = 0;
        using (var fill = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None))
        {
            foreach (var chunk in (int[])[1 << 20, 4096, 1])
            {
                var buffer = new byte[chunk];
                try
                {
                    while (true)
                    {
                        fill.Write(buffer);
                        written += chunk;
                    }
                }
                catch (IOException) { }
            }
        }
        return written;
    }

    /// <summary>Deletes the filler.</summary>
    public void Free() => File.Delete(Filler);

    public void Dispose()
    {
        if (_mounted)
            Run("umount", "-l", _dir);
        _mounted = false;
    }

    private static void Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {stderr}");
    }
}
