using System.Diagnostics;
using Xunit;

namespace Cluster.Vmm.Tests.Storage;

/// <summary>Debian's qemu-img and qemu-io, the peers the image code is checked against.</summary>
public static class QemuTools
{
    private static readonly Lazy<string?> Missing = new(() =>
        Find("qemu-img") is null ? "qemu-img is not installed (apt-get install qemu-utils)"
        : Find("qemu-io") is null ? "qemu-io is not installed (apt-get install qemu-utils)" : null);

    /// <summary>Why the qemu tools cannot be used here, or null.</summary>
    public static string? Unavailable => Missing.Value;

    /// <summary>Runs qemu-img; throws with its output unless it exits 0.</summary>
    public static string Img(params string[] args) => Run("qemu-img", args, [0]).Stdout;

    /// <summary>Runs qemu-io.</summary>
    public static string Io(params string[] args) => Run("qemu-io", args, [0]).Stdout;

    /// <summary>Runs a tool and returns its exit code and output. A lock conflict is retried a few
    /// times: while other tests start processes, a just-closed image can stay open (and locked) in a
    /// forked child until it execs.</summary>
    public static (int Exit, string Stdout, string Stderr) Run(string tool, IEnumerable<string> args, int[]? ok = null)
    {
        var result = RunOnce(tool, args);
        for (int attempt = 1; attempt < 20 && result.Exit != 0 && result.Stderr.Contains("lock"); attempt++)
        {
            Thread.Sleep(100);
            result = RunOnce(tool, args);
        }
        if (ok is not null && !ok.Contains(result.Exit))
            throw new Xunit.Sdk.XunitException($"{tool} {string.Join(' ', args)} exited {result.Exit}:\n{result.Stdout}\n{result.Stderr}");
        return result;
    }

    private static (int Exit, string Stdout, string Stderr) RunOnce(string tool, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }

    /// <summary>The guest's bytes as qemu-img reads them (convert -O raw).</summary>
    public static byte[] ReadAsRaw(string image, string dir)
    {
        string raw = System.IO.Path.Combine(dir, $"qemu-raw-{Guid.NewGuid():N}.raw");
        Img("convert", "-U", "-O", "raw", image, raw);
        try
        {
            return File.ReadAllBytes(raw);
        }
        finally
        {
            File.Delete(raw);
        }
    }

    private static string? Find(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Select(d => System.IO.Path.Combine(d, tool)).FirstOrDefault(File.Exists);
}

/// <summary>A fact that needs qemu-img and qemu-io; skipped with the reason where they are absent.</summary>
public sealed class QemuFactAttribute : FactAttribute
{
    public QemuFactAttribute()
    {
        if (QemuTools.Unavailable is { } reason) Skip = reason;
    }
}

/// <summary>A theory that needs qemu-img and qemu-io; skipped with the reason where they are absent.</summary>
public sealed class QemuTheoryAttribute : TheoryAttribute
{
    public QemuTheoryAttribute()
    {
        if (QemuTools.Unavailable is { } reason) Skip = reason;
    }
}

/// <summary>A scratch folder on a disk file system (O_DIRECT works), removed on dispose.</summary>
public sealed class ScratchDir : IDisposable
{
    public ScratchDir()
    {
        Path = Directory.CreateTempSubdirectory("cluster-storage-").FullName;
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
