using System.Diagnostics;

namespace Cluster.Vmm.Networking;

/// <summary>
/// Runs the host's network tools (iproute2's ip and bridge, nft), in this network namespace or in a named one
/// (<c>ip netns exec</c>), the way libvirt drives them. A failing command is an error naming it and its output.
/// </summary>
public sealed class HostCommands(string? netns = null)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>The network namespace the commands run in (null: this process's).</summary>
    public string? Namespace { get; } = netns;

    /// <summary>Runs <paramref name="file"/> with <paramref name="args"/>, with <paramref name="input"/> on its standard input; returns its output.</summary>
    public string Run(string file, IReadOnlyList<string> args, string? input = null)
    {
        var (exit, output, error) = TryRun(file, args, input);
        if (exit != 0)
            throw new NetworkSetupException($"'{Describe(file, args)}' failed (exit {exit}): {error.Trim()}");
        return output;
    }

    /// <summary>Runs a command that may fail (a probe, or a removal of something already gone).</summary>
    public (int Exit, string Output, string Error) TryRun(string file, IReadOnlyList<string> args, string? input = null)
    {
        var start = new ProcessStartInfo
        {
            FileName = Namespace is null ? file : "ip",
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = input is not null, UseShellExecute = false,
        };
        if (Namespace is not null)
        {
            foreach (var a in new[] { "netns", "exec", Namespace, file })
                start.ArgumentList.Add(a);
        }
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new NetworkSetupException($"cannot start {file}");
        if (input is not null)
        {
            process.StandardInput.Write(input);
            process.StandardInput.Close();
        }
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new NetworkSetupException($"'{Describe(file, args)}' did not finish within {Timeout.TotalSeconds} s");
        }
        return (process.ExitCode, output.Result, error.Result);
    }

    /// <summary>Starts a long-running program (dnsmasq) in the namespace; the caller owns the process.</summary>
    public Process Start(string file, IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo { FileName = Namespace is null ? file : "ip", UseShellExecute = false, RedirectStandardError = true };
        if (Namespace is not null)
        {
            foreach (var a in new[] { "netns", "exec", Namespace, file })
                start.ArgumentList.Add(a);
        }
        foreach (var a in args)
            start.ArgumentList.Add(a);
        return Process.Start(start) ?? throw new NetworkSetupException($"cannot start {file}");
    }

    /// <summary>Whether <paramref name="tool"/> is installed (on PATH or in /usr/sbin, /sbin).</summary>
    public static bool Installed(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/sbin").Append("/sbin")
            .Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, tool)));

    private string Describe(string file, IReadOnlyList<string> args) =>
        (Namespace is null ? "" : $"[netns {Namespace}] ") + string.Join(' ', args.Prepend(file));
}
