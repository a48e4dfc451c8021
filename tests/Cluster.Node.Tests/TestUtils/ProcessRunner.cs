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
        info.Environment[Cluster.Vmctl.Client.ClientTls.Variable] = TestCa.Directory;
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(dll);
        foreach (var a in args)
            info.ArgumentList.Add(a);
        return info;
    }

    /// <summary>Runs to completion (killed after <paramref name="timeout"/>) and returns its exit code and output.</summary>
    public static Task<ProcessResult> RunAsync(string dll, TimeSpan timeout, params string[] args) => RunAsync(dll, timeout, [], args);

    /// <summary>As <see cref="RunAsync(string, TimeSpan, string[])"/>, with <paramref name="environment"/> set (or, for a
    /// null value, removed) in the process's environment.</summary>
    public static Task<ProcessResult> RunAsync(string dll, TimeSpan timeout, (string Name, string? Value)[] environment, params string[] args) =>
        RunWithInputAsync(dll, timeout, environment, null, args);

    /// <summary>As <see cref="RunAsync(string, TimeSpan, string[])"/> with an environment, and <paramref name="input"/>
    /// written to its stdin, which is then closed (null: stdin inherited).</summary>
    public static async Task<ProcessResult> RunWithInputAsync(string dll, TimeSpan timeout, (string Name, string? Value)[] environment, string? input, params string[] args)
    {
        var info = DotnetExec(dll, args);
        info.RedirectStandardInput = input is not null;
        foreach (var (name, value) in environment)
        {
            if (value is null) info.Environment.Remove(name);
            else info.Environment[name] = value;
        }
        using var process = Process.Start(info)!;
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }
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

    /// <summary>Starts a node in the test run's cluster CA (<see cref="TestCa"/>) and waits until it prints that it is ready.</summary>
    public static Task<NodeProcess> StartAsync(int port, string dataDirectory, params string[] extra) =>
        StartAsync(ProcessRunner.DotnetExec(Executables.NodeDll,
            ["run", "--port", $"{port}", "--data", dataDirectory, "--backend", "emulated", .. TestCa.NodeArgs, .. extra]));

    /// <summary>Starts a node from a prepared command line (for example under `ip netns exec`) and waits until it is ready.</summary>
    public static async Task<NodeProcess> StartAsync(ProcessStartInfo info)
    {
        NodeTokens.Register(info);
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

    /// <summary>The exit code, once the process has ended.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>True once the process has ended (for example after the cluster downed it).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Kills the node at once, as a crash would (no shutdown, the journal as it stands).</summary>
    public void Kill()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>Kills the node process alone (SIGKILL), leaving its VMM workers running, and waits for it to end.</summary>
    public void KillAlone()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    /// <summary>Asks the node to shut down (SIGTERM, as a service manager does) and waits for it to end.</summary>
    public void Terminate(TimeSpan timeout)
    {
        if (!_process.HasExited)
            Process.Start("kill", ["-TERM", $"{_process.Id}"])!.WaitForExit();
        if (!_process.WaitForExit(timeout))
            throw new TimeoutException($"cluster-node did not exit within {timeout} of SIGTERM:\n{Output}");
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
