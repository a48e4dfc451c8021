using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>The outcome of one finished process.</summary>
public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs `dotnet exec` processes for the end-to-end tests.</summary>
public static class ProcessRunner
{
    public static ProcessStartInfo DotnetExec(string dll, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(dll);
        foreach (var a in args)
            info.ArgumentList.Add(a);
        return info;
    }

    /// <summary>Runs to completion (killed after <paramref name="timeout"/>) and returns its exit code and output.</summary>
    public static async Task<ProcessResult> RunAsync(string dll, TimeSpan timeout, params string[] args)
    {
        using var process = Process.Start(DotnetExec(dll, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(dll)} {string.Join(' ', args)} ran over {timeout}");
        }
        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A running `cluster-node run` process; disposing kills it.</summary>
public sealed class NodeProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private NodeProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Exited += (_, _) => _ready.TrySetException(new InvalidOperationException($"cluster-node exited early:\n{Output}"));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>Starts a node and waits until it prints that it is ready.</summary>
    public static Task<NodeProcess> StartAsync(int port, string dataDirectory, params string[] extra) =>
        StartAsync(ProcessRunner.DotnetExec(Executables.NodeDll,
            ["run", "--port", $"{port}", "--data", dataDirectory, "--backend", "emulated", .. extra]));

    /// <summary>Starts a node from a prepared command line (for example under `ip netns exec`) and waits until it is ready.</summary>
    public static async Task<NodeProcess> StartAsync(ProcessStartInfo info)
    {
        var node = new NodeProcess(Process.Start(info)!);
        try
        {
            await node._ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch
        {
            node.Dispose();
            throw;
        }
        return node;
    }

    /// <summary>The process id (of the node itself: wrappers such as unshare and `sh -c 'exec ...'` hand their id on).</summary>
    public int Pid => _process.Id;

    /// <summary>True once the process has ended (for example after the cluster downed it).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Kills the node at once, as a crash would (no shutdown, the journal as it stands).</summary>
    public void Kill()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
        if (line.StartsWith("node ready at ", StringComparison.Ordinal))
            _ready.TrySetResult();
    }
}
