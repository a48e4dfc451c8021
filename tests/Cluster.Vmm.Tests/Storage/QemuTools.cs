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

    /// <summary>Runs a tool and returns its exit code and output.</summary>
    public static (int Exit, string Stdout, string Stderr) Run(string tool, IEnumerable<string> args, int[]? ok = null)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var result = (p.ExitCode, stdout, stderr.Result);
        if (ok is not null && !ok.Contains(p.ExitCode))
            throw new Xunit.Sdk.XunitException($"{tool} {string.Join(' ', start.ArgumentList)} exited {p.ExitCode}:\n{stdout}\n{result.Item3}");
        return result;
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
