using System.Diagnostics;
using System.Reflection;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Worker;

/// <summary>
/// Starts <c>cluster-node vmm serve</c> worker processes. The caller gives the command that runs
/// cluster-node (an apphost path, or <c>dotnet</c> and the dll: <see cref="CurrentCommand"/> derives it from
/// this process); the launcher appends <c>vmm serve --runtime-dir DIR --name NAME --backend B</c>.
/// The worker writes its output to DIR/NAME.log (it keeps none of this process's streams) and calls setsid itself.
/// </summary>
public static class WorkerLauncher
{
    /// <summary>The command that runs this process's program again: its apphost, or <c>dotnet</c> and the entry
    /// assembly when this process is <c>dotnet</c>. Meaningful when this process is cluster-node.</summary>
    /// <exception cref="VmmException">the process path or the entry assembly is unknown.</exception>
    public static IReadOnlyList<string> CurrentCommand()
    {
        var exe = Environment.ProcessPath ?? throw new VmmException("this process's executable is unknown", "worker-launch");
        if (!Path.GetFileNameWithoutExtension(exe).Equals("dotnet", StringComparison.Ordinal)) return [exe];
        // The entry assembly's file beside the program (Assembly.Location is empty in single-file and NativeAOT programs).
        var name = Assembly.GetEntryAssembly()?.GetName().Name;
        var entry = name is null ? null : Path.Combine(AppContext.BaseDirectory, name + ".dll");
        if (entry is null || !File.Exists(entry)) throw new VmmException("this dotnet process has no entry assembly on disk", "worker-launch");
        return [exe, entry];
    }

    /// <summary>The folder, next to this program, where its build publishes the worker program (<c>vmm-worker</c>, ReadyToRun).</summary>
    public const string PublishedWorkerFolder = "vmm-worker";

    /// <summary>The folder, next to this program, where its build publishes the NativeAOT worker (the one file <c>vmm-worker</c>).</summary>
    public const string AotWorkerFolder = "vmm-worker-aot";

    /// <summary>
    /// The command that starts a worker, as <see cref="WorkerPrograms.Choose"/> picks it for this program's folder and the
    /// <see cref="WorkerPrograms.Variable"/> environment variable: the NativeAOT worker, else the ReadyToRun one, else
    /// <see cref="CurrentCommand"/>; <paramref name="note"/> says which and why (for the node's log).
    /// </summary>
    /// <exception cref="VmmException">none is found.</exception>
    public static IReadOnlyList<string> WorkerCommand(out string note) =>
        WorkerPrograms.Choose(AppContext.BaseDirectory, Environment.GetEnvironmentVariable(WorkerPrograms.Variable), out note);

    /// <summary><see cref="WorkerCommand(out string)"/> without the note.</summary>
    public static IReadOnlyList<string> WorkerCommand() => WorkerCommand(out _);

    /// <summary>The NativeAOT worker's command (its one executable) in <paramref name="programDirectory"/>/vmm-worker-aot,
    /// null when it is not there or not executable.</summary>
    public static IReadOnlyList<string>? AotWorker(string programDirectory)
    {
        var exe = Path.Combine(programDirectory, AotWorkerFolder, "vmm-worker");
        return !OperatingSystem.IsWindows() && File.Exists(exe) && (File.GetUnixFileMode(exe) & UnixFileMode.UserExecute) != 0 ? [exe] : null;
    }

    /// <summary>The published worker's command in <paramref name="programDirectory"/>/vmm-worker, null when it is not there:
    /// <c>dotnet</c> and its dll when this process is <c>dotnet</c> (the same runtime), else its apphost (or the dll with the
    /// <c>dotnet</c> on the PATH where there is no apphost).</summary>
    public static IReadOnlyList<string>? PublishedWorker(string programDirectory)
    {
        var dir = Path.Combine(programDirectory, PublishedWorkerFolder);
        var dll = Path.Combine(dir, "vmm-worker.dll");
        if (!File.Exists(dll) || !File.Exists(Path.Combine(dir, "vmm-worker.runtimeconfig.json")))
            return null;
        var exe = Environment.ProcessPath;
        if (exe is not null && Path.GetFileNameWithoutExtension(exe).Equals("dotnet", StringComparison.Ordinal)) return [exe, dll];
        var apphost = Path.Combine(dir, "vmm-worker");
        return !OperatingSystem.IsWindows() && File.Exists(apphost) && (File.GetUnixFileMode(apphost) & UnixFileMode.UserExecute) != 0 ? [apphost] : ["dotnet", dll];
    }

    /// <summary>
    /// Starts a worker named <paramref name="name"/> in <paramref name="runtimeDirectory"/> with <paramref name="command"/>
    /// and waits until its socket accepts and Hello is done (at most <paramref name="timeout"/>). <paramref name="user"/>
    /// given (a name or a uid), the worker runs as that user and accepts this process's uid as its client (<c>--user</c>,
    /// <c>--client-uid</c>): for a node running as root.
    /// </summary>
    /// <exception cref="VmmException">the process cannot start, exits early, or does not answer in time (it is killed).</exception>
    public static WorkerLaunch Launch(IReadOnlyList<string> command, string runtimeDirectory, string name, BackendKind backend, TimeSpan timeout,
        string? user = null, int emulatorCodePages = Emulated.EmulatedHypervisor.DefaultMaxCodePages, string? runLog = null)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (command.Count == 0) throw new ArgumentException("the command is empty", nameof(command));
        var dir = Path.GetFullPath(runtimeDirectory);
        var info = new ProcessStartInfo(command[0]) { UseShellExecute = false };
        foreach (var a in command.Skip(1)) info.ArgumentList.Add(a);
        foreach (var a in new[] { "vmm", "serve", "--runtime-dir", dir, "--name", name, "--backend", PassesKvm(backend, user) ? "kvm-passed" : BackendArgument(backend),
                     "--log", Path.Combine(dir, name + ".log") })
            info.ArgumentList.Add(a);
        if (!string.IsNullOrEmpty(user))
            foreach (var a in new[] { "--user", user, "--client-uid", Native.UserSwitch.EffectiveUid.ToString(System.Globalization.CultureInfo.InvariantCulture) })
                info.ArgumentList.Add(a);
        if (emulatorCodePages != Emulated.EmulatedHypervisor.DefaultMaxCodePages)
        {
            info.ArgumentList.Add("--code-pages");
            info.ArgumentList.Add(emulatorCodePages.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        if (!string.IsNullOrEmpty(runLog))
        {
            info.ArgumentList.Add("--run-log");
            info.ArgumentList.Add(Path.GetFullPath(runLog));
        }
        Process process;
        try { process = Process.Start(info) ?? throw new VmmException($"{command[0]} did not start", "worker-launch"); }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new VmmException($"cannot start {command[0]}: {e.Message}", "worker-launch", inner: e);
        }
        try
        {
            var socket = Path.Combine(dir, name + ".sock");
            var clock = Stopwatch.StartNew();
            while (true)
            {
                if (process.HasExited)
                    throw new VmmException($"worker {name} exited with code {process.ExitCode} before it listened on {socket}", "worker-launch");
                var left = timeout - clock.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    Kill(process);
                    throw new VmmException($"worker {name} did not listen on {socket} within {timeout.TotalSeconds:0.#} s", "worker-launch");
                }
                if (File.Exists(socket))
                {
                    try
                    {
                        var client = WorkerClient.Connect(socket, left);
                        return new WorkerLaunch(client, process, socket);
                    }
                    catch (VmmException e) when (e.Operation == "worker-connect" && clock.Elapsed < timeout && !process.HasExited) { }
                }
                // A NativeAOT worker listens 10-20 ms after its start: a coarse poll added up to its own period to every launch.
                Thread.Sleep(2);
            }
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>Whether a worker of <paramref name="backend"/> run as <paramref name="user"/> waits for the node's /dev/kvm
    /// (<c>--backend kvm-passed</c>, <see cref="PassedKvm"/>): KVM asked for and another user, who needs no access to the device.
    /// The node then passes it with Create and ListenIncoming (<see cref="WorkerCreate.Kvm"/>).</summary>
    public static bool PassesKvm(BackendKind backend, string? user) => backend == BackendKind.Kvm && !string.IsNullOrEmpty(user);

    private static string BackendArgument(BackendKind backend) => backend switch
    {
        BackendKind.Kvm => "kvm",
        BackendKind.Emulated => "emulated",
        _ => "auto",
    };

    private static void Kill(Process process)
    {
        try { process.Kill(); }
        catch (InvalidOperationException) { }
    }
}
