using System.Diagnostics;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>
/// The Debian package, built once per test class by <c>scripts/package --framework-dependent</c> (the self-contained build
/// takes minutes on 2 cores) and installed into a scratch root as dpkg would without touching this machine: the data
/// unpacked with <c>dpkg-deb -x</c>, then the package's <c>postinst configure</c> run with <c>DPKG_ROOT</c> set to it.
/// </summary>
public sealed class PackageInstall : IDisposable
{
    // Short: the workers' sockets go under ROOT/var/lib/cluster-hypervisor/run, and a unix socket path holds 108 bytes at most.
    private readonly string _work = Path.Combine(Path.GetTempPath(), "chpkg-" + Guid.NewGuid().ToString("N")[..8]);

    public PackageInstall()
    {
        if (!PackagingFactAttribute.Available)
            return;
        Directory.CreateDirectory(_work);
        var clock = Stopwatch.StartNew();
        var built = Run(Path.Combine(RepositoryRoot, "scripts", "package"), TimeSpan.FromMinutes(10), "--framework-dependent", "--out", Path.Combine(_work, "out"));
        BuildTime = clock.Elapsed;
        if (built.ExitCode != 0)
            throw new InvalidOperationException($"scripts/package failed ({built.ExitCode}):\n{built.Stdout}\n{built.Stderr}");
        Deb = built.Stdout.Trim().Split('\n')[^1];
        if (!Path.IsPathRooted(Deb))
            Deb = Path.Combine(RepositoryRoot, Deb);
        Check(Run("dpkg-deb", TimeSpan.FromMinutes(2), "-x", Deb, Root));
        Check(Run("dpkg-deb", TimeSpan.FromMinutes(1), "-e", Deb, ControlDirectory));
        Check(Run(Path.Combine(ControlDirectory, "postinst"), TimeSpan.FromMinutes(1), new Dictionary<string, string> { ["DPKG_ROOT"] = Root }, "configure"));
    }

    /// <summary>The repository (the folder holding Cluster.sln above the test binaries).</summary>
    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Cluster.sln")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException($"no Cluster.sln above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>How long scripts/package took.</summary>
    public TimeSpan BuildTime { get; }

    /// <summary>The .deb file.</summary>
    public string Deb { get; } = "";

    /// <summary>The scratch root the package is installed in.</summary>
    public string Root => Path.Combine(_work, "root");

    /// <summary>The package's control files (control, conffiles, maintainer scripts).</summary>
    public string ControlDirectory => Path.Combine(_work, "control");

    /// <summary><paramref name="path"/>, an absolute path of the installed system, inside the scratch root.</summary>
    public string InRoot(string path) => Path.Combine(Root, path.TrimStart('/'));

    /// <summary>The node's state directory (its --data) in the scratch root.</summary>
    public string DataDirectory => InRoot("/var/lib/cluster-hypervisor");

    /// <summary>Runs <paramref name="file"/> to completion (killed after <paramref name="timeout"/>).</summary>
    public static ProcessResult Run(string file, TimeSpan timeout, params string[] args) => Run(file, timeout, new Dictionary<string, string>(), args);

    /// <summary>Runs <paramref name="file"/> with extra environment variables to completion (killed after <paramref name="timeout"/>).</summary>
    public static ProcessResult Run(string file, TimeSpan timeout, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        // The test host runs under `dotnet test`, whose MSBuild variables would steer a nested dotnet publish.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(name);
        foreach (var (name, value) in environment)
            info.Environment[name] = value;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} ran over {timeout}");
        }
        process.WaitForExit();
        return new ProcessResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static void Check(ProcessResult result)
    {
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"exit code {result.ExitCode}:\n{result.Stdout}\n{result.Stderr}");
    }

    public void Dispose()
    {
        if (!Directory.Exists(_work))
            return;
        WorkerRecords.KillAll(_work);
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
