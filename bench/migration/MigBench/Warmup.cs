using System.Net;
using System.Net.Sockets;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;

namespace MigBench;

/// <summary>
/// Migrates a small machine of the benchmark guest through loopback inside this process before the
/// measured run, so that the measured downtime is that of a warmed-up VMM (a long-running node),
/// not of the JIT compiling the stop-and-copy path for the first time.
/// </summary>
internal static class Warmup
{
    public static void Run(string guest)
    {
        using var hypervisor = new EmulatedHypervisor();
        var config = new MachineConfig { MemoryBytes = 16UL << 20, Image = new ElfGuestImage(guest), Args = ["4", "2", "50"] };
        var machine = Machine.Create(hypervisor, config);
        machine.Start();
        Thread.Sleep(200);
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var identity = MigrationIdentity.Create();
        var receiving = new MigrationTarget(hypervisor, config).ReceiveAsync(listener, identity);
        var result = new MigrationSource(machine, new MigrationOptions { DowntimeLimit = TimeSpan.FromMilliseconds(5) })
            .MigrateAsync((IPEndPoint)listener.LocalEndpoint, identity.Credentials).GetAwaiter().GetResult();
        var target = receiving.GetAwaiter().GetResult();
        listener.Stop();
        target.Machine?.Dispose();
        if (!result.Succeeded) machine.Dispose();
        if (!result.Succeeded || !target.Succeeded)
            throw new InvalidOperationException($"warm-up migration failed: {result.FailureReason ?? target.FailureReason}");
    }
}
