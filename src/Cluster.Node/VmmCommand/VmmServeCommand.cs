using System.Runtime.InteropServices;
using Cluster.Vmm;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Native;
using Cluster.Vmm.Worker;

namespace Cluster.Node.VmmCommand;

/// <summary>
/// <c>cluster-node vmm serve</c>: a VMM worker process for one VM (<see cref="WorkerHost"/>), controlled by
/// a node over <c>DIR/NAME.sock</c> (<see cref="WorkerProtocol"/>). It leaves its parent's session first, so
/// that it outlives the node and its process-group signals. Exit code 0 after a Shutdown request.
/// </summary>
public static class VmmServeCommand
{
    /// <summary>Exit code for bad arguments.</summary>
    public const int ExitUsage = 2;
    /// <summary>Exit code when the backend cannot be opened or the socket cannot be bound.</summary>
    public const int ExitStartFailed = 1;
    /// <summary>Exit code when stopped by SIGINT or SIGTERM (the guest is stopped, the files removed).</summary>
    public const int ExitInterrupted = 130;

    /// <summary>The usage text.</summary>
    public const string Usage =
        """
        usage: cluster-node vmm serve --runtime-dir DIR [--name NAME] [--backend auto|emulated|kvm|kvm-passed] [--abandon-after S] [--log FILE]
                                      [--user NAME|UID] [--client-uid UID] [--code-pages N] [--run-log FILE]
          --runtime-dir DIR  the folder of the control socket DIR/NAME.sock and the record DIR/NAME.json (created if needed)
          --name NAME        the worker's name (default w-PID)
          --backend          emulated (default), kvm, or auto (KVM when /dev/kvm works, else the emulator); kvm-passed: KVM over
                             the /dev/kvm descriptor the node passes with Create or ListenIncoming (the worker opens none)
          --abandon-after S  end after S seconds without any request from a node (default 600; 0: never)
          --log FILE         stdout and stderr go to FILE (appended) and stdin is /dev/null, so the worker keeps none of its
                             parent's streams (nodes start workers so: DIR/NAME.log)
          --user NAME|UID    started as root: become this user (its uid and gid from /etc/passwd, no other groups) once the
                             socket listens, before serving; the socket, record and log are given to it, and DIR is made
                             writable by its group with the sticky bit
          --client-uid UID   the uid a client must have (default: the worker's own; a node running as root passes 0)
          --code-pages N     the emulator's decoded-code cache per vCPU, in 4 KiB guest pages (default 4096)
          --run-log FILE     append 'VM start|end NS EPOCH PID' to FILE whenever the guest's vCPUs start and stop running
                             (monotonic ns): where the guest really ran, for checkers (nodes pass it when they keep a run log)
        Serves one VM to a node over the socket (clients of one uid only) until a Shutdown request (exit 0);
        SIGINT or SIGTERM stop the guest and exit 130; 1 when it cannot start, 2 for bad arguments.
        """;

    /// <summary>Runs the command with the arguments after "vmm serve"; returns the process exit code.</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter stderr)
    {
        if (args is ["--help" or "-h"])
        {
            stderr.WriteLine(Usage);
            return 0;
        }
        string? log = null;
        if (args.ToList().IndexOf("--log") is var at and >= 0)
        {
            if (at + 1 >= args.Count)
            {
                stderr.WriteLine("vmm serve: --log needs a value");
                return ExitUsage;
            }
            log = args[at + 1];
            args = [.. args.Take(at), .. args.Skip(at + 2)];
        }
        if (Parse(args, out var error) is not { } parsed)
        {
            stderr.WriteLine($"vmm serve: {error}");
            stderr.WriteLine(Usage);
            return ExitUsage;
        }
        var (options, backend, kvmPassed) = parsed;
        WorkerHost.DetachSession(out _);
        if (log is not null && WorkerStdio.Redirect(log) is { } redirectError)
        {
            stderr.WriteLine($"vmm serve: {redirectError}");
            return ExitStartFailed;
        }
        if (options.RunAs is { } user && log is not null)
        {
            try { UserSwitch.Chown(log, user.Uid, user.Gid); }
            catch (VmmException e)
            {
                stderr.WriteLine($"vmm serve: {e.Message}");
                return ExitStartFailed;
            }
        }
        IHypervisor hypervisor;
        try { hypervisor = kvmPassed ? new PassedKvm() : HypervisorFactory.Create(backend, out _, options.EmulatorCodePages); }
        catch (VmmException e)
        {
            stderr.WriteLine($"vmm serve: {e.Message}");
            return ExitStartFailed;
        }
        using var backendScope = hypervisor;
        using var host = new WorkerHost(options, hypervisor);
        int code = 0;
        Action<PosixSignalContext> onSignal = context =>
        {
            context.Cancel = true;
            code = ExitInterrupted;
            ThreadPool.QueueUserWorkItem(_ => host.Dispose());
        };
        using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, onSignal);
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, onSignal);
        try
        {
            host.WarmUp();
            host.Start();
        }
        catch (VmmException e)
        {
            stderr.WriteLine($"vmm serve: {e.Message}");
            return ExitStartFailed;
        }
        host.Completion.GetAwaiter().GetResult();
        // Shut down on request: nothing to look into, so no log stays behind (a worker that was killed keeps its log).
        if (code == 0 && log is not null)
            File.Delete(log);
        return code;
    }

    /// <summary>Parses the arguments after "vmm serve"; null with <paramref name="error"/> set when they are bad.</summary>
    public static (WorkerHostOptions Options, BackendKind Backend, bool KvmPassed)? Parse(IReadOnlyList<string> args, out string? error)
    {
        bool kvmPassed = false;
        string? dir = null, name = null, runLog = null;
        TimeSpan? abandonAfter = TimeSpan.FromMinutes(10);
        (uint, uint)? runAs = null;
        uint? clientUid = null;
        int codePages = Cluster.Vmm.Emulated.EmulatedHypervisor.DefaultMaxCodePages;
        var backend = BackendKind.Emulated;
        error = null;
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a is not ("--runtime-dir" or "--name" or "--backend" or "--abandon-after" or "--user" or "--client-uid" or "--code-pages" or "--run-log"))
            {
                error = $"unknown argument '{a}'";
                return null;
            }
            if (i + 1 >= args.Count)
            {
                error = $"{a} needs a value";
                return null;
            }
            string v = args[++i];
            switch (a)
            {
                case "--runtime-dir": dir = v; break;
                case "--name": name = v; break;
                case "--run-log": runLog = v; break;
                case "--user":
                    runAs = UserSwitch.Resolve(v, out error);
                    if (runAs is null) return null;
                    break;
                case "--client-uid":
                    if (!uint.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var uid))
                    {
                        error = $"--client-uid takes a numeric uid, not '{v}'";
                        return null;
                    }
                    clientUid = uid;
                    break;
                case "--code-pages":
                    if (!int.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out codePages) || codePages < 1)
                    {
                        error = $"--code-pages takes a page count of at least 1, not '{v}'";
                        return null;
                    }
                    break;
                case "--abandon-after":
                    if (!int.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
                    {
                        error = $"--abandon-after takes whole seconds (0: never), not '{v}'";
                        return null;
                    }
                    abandonAfter = seconds == 0 ? null : TimeSpan.FromSeconds(seconds);
                    break;
                default:
                    BackendKind? b = v switch
                    {
                        "auto" => BackendKind.Auto, "emulated" => BackendKind.Emulated, "kvm" or "kvm-passed" => BackendKind.Kvm, _ => null,
                    };
                    kvmPassed = v == "kvm-passed";
                    if (b is null)
                    {
                        error = $"unknown backend '{v}' (auto, emulated, kvm or kvm-passed)";
                        return null;
                    }
                    backend = b.Value;
                    break;
            }
        }
        if (dir is null)
        {
            error = "--runtime-dir is required";
            return null;
        }
        return (new WorkerHostOptions(dir, name) { AbandonAfter = abandonAfter, RunAs = runAs, ClientUid = clientUid, EmulatorCodePages = codePages, RunLog = runLog }, backend, kvmPassed);
    }
}
