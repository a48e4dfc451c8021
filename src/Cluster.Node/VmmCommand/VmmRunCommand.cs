using System.Runtime.InteropServices;
using Cluster.Vmm;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;

namespace Cluster.Node.VmmCommand;

/// <summary>
/// <c>cluster-node vmm run</c>: one guest in this process, without actors. The serial console goes
/// to stdout and stdin to the serial console; the process ends with the guest's exit status.
/// </summary>
public static class VmmRunCommand
{
    /// <summary>Exit code for bad arguments.</summary>
    public const int ExitUsage = 2;
    /// <summary>Exit code when the backend cannot be opened or the machine cannot be created.</summary>
    public const int ExitCreateFailed = 1;
    /// <summary>Exit code after a shutdown (triple fault).</summary>
    public const int ExitShutdown = 124;
    /// <summary>Exit code after an internal error (unsupported instruction, garbage code).</summary>
    public const int ExitInternalError = 125;
    /// <summary>Exit code when stopped by SIGINT (Ctrl-C) or SIGTERM.</summary>
    public const int ExitInterrupted = 130;

    /// <summary>Runs one guest with parsed options; returns the process exit code.</summary>
    public static int Run(VmmRunOptions options, Stream stdout, TextWriter stderr)
    {
        IHypervisor hypervisor;
        Machine machine;
        try
        {
            hypervisor = HypervisorFactory.Create(options.Backend, out var reason);
            stderr.WriteLine($"vmm: backend {hypervisor.Name} ({reason})");
        }
        catch (VmmException e)
        {
            stderr.WriteLine($"vmm: {e.Message}");
            return ExitCreateFailed;
        }
        using var _ = hypervisor;
        try
        {
            machine = Machine.Create(hypervisor, options.Machine);
        }
        catch (VmmException e)
        {
            stderr.WriteLine($"vmm: cannot create the machine: {e.Message}");
            return ExitCreateFailed;
        }
        using (machine)
        {
            machine.Serial.Output += bytes =>
            {
                stdout.Write(bytes);
                stdout.Flush();
            };
            Action<PosixSignalContext> onSignal = context =>
            {
                context.Cancel = true;
                ThreadPool.QueueUserWorkItem(_ => machine.Stop());
            };
            using (PosixSignalRegistration.Create(PosixSignal.SIGINT, onSignal))
            using (PosixSignalRegistration.Create(PosixSignal.SIGTERM, onSignal))
            {
                StartInputPump(machine);
                machine.Start();
                machine.WaitForExit(Timeout.InfiniteTimeSpan);
            }
            return Report(machine.Exit!, stderr);
        }
    }

    private static int Report(MachineExit exit, TextWriter stderr)
    {
        switch (exit.Kind)
        {
            case MachineExitKind.GuestExit:
                return exit.ExitStatus ?? 0;
            case MachineExitKind.Halted:
                stderr.WriteLine($"vmm: {exit.Reason}");
                return 0;
            case MachineExitKind.Shutdown:
                stderr.WriteLine($"vmm: guest shut down: {exit.Reason}");
                return ExitShutdown;
            case MachineExitKind.Stopped:
                stderr.WriteLine("vmm: stopped by a signal");
                return ExitInterrupted;
            default:
                stderr.WriteLine($"vmm: guest failed: {exit.Reason}");
                return ExitInternalError;
        }
    }

    /// <summary>Forwards stdin to the serial console on a background thread, waiting while the receive FIFO is full.</summary>
    private static void StartInputPump(Machine machine)
    {
        var thread = new Thread(() =>
        {
            var stdin = Console.OpenStandardInput();
            var buffer = new byte[256];
            int n;
            while ((n = stdin.Read(buffer)) > 0)
            {
                var pending = buffer.AsSpan(0, n);
                while (!pending.IsEmpty && machine.State is not MachineRunState.Finished)
                {
                    pending = pending[machine.Serial.Input(pending)..];
                    if (!pending.IsEmpty) Thread.Sleep(5);
                }
            }
        })
        { Name = "serial-input", IsBackground = true };
        thread.Start();
    }
}
