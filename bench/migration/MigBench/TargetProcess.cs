using System.Net;
using System.Net.Sockets;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;

namespace MigBench;

/// <summary>The target process: reserves the benchmark machine (the source's options), receives one migration on
/// 127.0.0.1:port over TLS (<c>--plaintext 1</c>: without), writing its credentials to <c>--credentials</c> before it
/// says it listens, lets the VM run half a second to show it runs, and reports.</summary>
internal static class TargetProcess
{
    public static int Run(Args a)
    {
        Warmup.Run(Path.GetFullPath(a.Get("guest", "migdirty.elf")));
        using var hypervisor = new EmulatedHypervisor();
        var listener = new TcpListener(IPAddress.Loopback, (int)a.GetLong("port", 0));
        listener.Start();
        using var identity = MigrationIdentity.Create(encrypted: a.GetLong("plaintext", 0) == 0);
        BenchMachine.WriteCredentials(a.Get("credentials", "credentials.txt"), identity.Credentials);
        Console.Error.WriteLine($"target listening on {listener.LocalEndpoint}");
        var result = new MigrationTarget(hypervisor, BenchMachine.Config(a)).ReceiveAsync(listener, identity).GetAwaiter().GetResult();
        listener.Stop();
        if (!result.Succeeded || result.Machine is null)
        {
            Console.WriteLine($"target_ok=0 reason=\"{result.FailureReason}\"");
            return 1;
        }
        using var machine = result.Machine;
        Thread.Sleep(500);
        bool running = machine.State == MachineRunState.Running;
        Console.WriteLine($"target_ok={(running ? 1 : 0)} restore_ms={result.RestoreTime.TotalMilliseconds:0.00} received_bytes={result.BytesReceived}");
        return running ? 0 : 1;
    }
}
