using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;

namespace MigBench;

/// <summary>
/// The page stream against a raw socket under the same conditions, in one process: a halted guest
/// whose 512 MiB are written is migrated to a target whose memory was faulted in beforehand (so the
/// target's first-touch page faults, which any receiver of fresh memory pays, are not counted), and
/// the bulk round's end-to-end rate is set beside <see cref="RawSocket"/>'s, alternating twice and
/// keeping the better of each: the stream in plaintext (the engine's own cost) and over TLS 1.3 with AES-GCM (the
/// product's default: what encryption costs on top).
/// </summary>
internal static class StreamVsRaw
{
    public static int Run(Args a)
    {
        string guest = Path.GetFullPath(a.Get("guest", "migdirty.elf"));
        int fill = (int)a.GetLong("fill", 512);
        int connections = (int)a.GetLong("connections", 1);
        double stream = 0, raw = 0, encrypted = 0, tls = 0;
        for (int i = 0; i < 2; i++)
        {
            raw = Math.Max(raw, RawSocket.Measure((long)fill << 20));
            tls = Math.Max(tls, TlsSocket.Measure((long)fill << 20));
            stream = Math.Max(stream, Stream(guest, fill, connections, encrypted: false));
            encrypted = Math.Max(encrypted, Stream(guest, fill, connections, encrypted: true));
        }
        Console.WriteLine($"stream_mib_s={stream:0} raw_mib_s={raw:0} stream_vs_raw={stream / raw:0.00} " +
            $"encrypted_mib_s={encrypted:0} encrypted_vs_raw={encrypted / raw:0.00} encrypted_vs_stream={encrypted / stream:0.00} " +
            $"tls_socket_mib_s={tls:0} tls_socket_vs_raw={tls / raw:0.00} encrypted_vs_tls_socket={encrypted / tls:0.00}");
        return 0;
    }

    private static double Stream(string guest, int fill, int connections, bool encrypted)
    {
        using var hypervisor = new EmulatedHypervisor();
        var config = new MachineConfig { MemoryBytes = 1UL << 30, Image = new ElfGuestImage(guest), Args = [fill.ToString(), "0", "0"] };
        var machine = Machine.Create(hypervisor, config);
        var console = new StringBuilder();
        machine.Serial.Output += bytes => { lock (console) console.Append(Encoding.ASCII.GetString(bytes)); };
        machine.Start();
        while (true)
        {
            lock (console) if (console.ToString().Contains("filled\n")) break;
            Thread.Sleep(10);
        }
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var identity = MigrationIdentity.Create(encrypted);
        var target = new MigrationTarget(hypervisor, config, new MigrationTargetOptions { CreateMachine = c => Resident(Machine.Create(hypervisor, c)) });
        var receiving = target.ReceiveAsync(listener, identity);
        var clock = new Clock();
        var result = new MigrationSource(machine, new MigrationOptions { Connections = connections })
            .MigrateAsync((IPEndPoint)listener.LocalEndpoint, identity.Credentials, clock).GetAwaiter().GetResult();
        receiving.GetAwaiter().GetResult().Machine?.Dispose();
        listener.Stop();
        if (!result.Succeeded) throw new InvalidOperationException($"stream migration failed: {result.FailureReason}");
        return clock.BulkMibPerSecond;
    }

    /// <summary>Writes a zero into every page of the machine's memory, which faults it in and leaves it zero.</summary>
    private static Machine Resident(Machine m)
    {
        foreach (var slot in m.Memory.Slots)
            for (ulong offset = 0; offset < slot.Size; offset += 4096)
                Volatile.Write(ref slot.Memory.AsSpan(offset, 1)[0], (byte)0);
        return m;
    }

    /// <summary>The bulk round's rate: from the report that starts round 0 to the next one (after round 0's Synced).</summary>
    private sealed class Clock : IProgress<MigrationProgress>
    {
        private readonly Stopwatch _clock = new();
        private long _startBytes = -1;

        public double BulkMibPerSecond { get; private set; }

        public void Report(MigrationProgress value)
        {
            if (value.Phase != MigrationPhase.PreCopy) return;
            if (_startBytes < 0)
            {
                _startBytes = value.WireBytes;
                _clock.Restart();
            }
            else if (BulkMibPerSecond == 0)
                BulkMibPerSecond = (value.WireBytes - _startBytes) / _clock.Elapsed.TotalSeconds / (1 << 20);
        }
    }
}
