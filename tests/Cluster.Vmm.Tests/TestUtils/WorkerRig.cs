using System.Text;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Worker;
using Xunit;

namespace Cluster.Vmm.Tests.TestUtils;

/// <summary>A <see cref="WorkerHost"/> served in this process on the emulator, in a temporary runtime folder,
/// with helpers to connect clients and to collect their events.</summary>
internal sealed class WorkerRig : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly IHypervisor _hypervisor;

    /// <summary>A worker on <paramref name="hypervisor"/> (which it then owns), or on a new emulator.</summary>
    public WorkerRig(string name = "w", Func<WorkerHostOptions, WorkerHostOptions>? configure = null, string? directory = null,
        IHypervisor? hypervisor = null)
    {
        _hypervisor = hypervisor ?? new EmulatedHypervisor();
        Directory = directory ?? NewDirectory();
        var options = new WorkerHostOptions(Directory, name);
        Host = new WorkerHost(configure?.Invoke(options) ?? options, _hypervisor);
        Host.Start();
    }

    public string Directory { get; }

    public WorkerHost Host { get; }

    /// <summary>A fresh folder with a short path (Unix socket paths are limited to 107 bytes).</summary>
    public static string NewDirectory() =>
        System.IO.Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "wk-" + Guid.NewGuid().ToString("N")[..10])).FullName;

    public WorkerClient Connect() => WorkerClient.Connect(Host.SocketPath, Timeout);

    public static WorkerCreate Guest(string name, params string[] args) =>
        new("vm-1", 1, new MachineConfig { MemoryBytes = 16UL << 20, Image = new BuiltInGuestImage(name), Args = args });

    public static void WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            Thread.Sleep(5);
        }
    }

    public void Dispose()
    {
        Host.Dispose();
        _hypervisor.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }

    /// <summary>The events one client received.</summary>
    internal sealed class Events
    {
        private readonly List<(long Offset, byte[] Bytes)> _serial = [];
        private readonly List<MachineExit> _exits = [];
        private int _lapses;
        private int _disconnects;

        public Events(WorkerClient client)
        {
            client.SerialOutput += (offset, bytes) => { lock (_serial) _serial.Add((offset, bytes)); };
            client.Exited += e => { lock (_exits) _exits.Add(e); };
            client.PermitLapsed += () => Interlocked.Increment(ref _lapses);
            client.Disconnected += _ => Interlocked.Increment(ref _disconnects);
        }

        public IReadOnlyList<(long Offset, byte[] Bytes)> Serial { get { lock (_serial) return _serial.ToList(); } }

        public IReadOnlyList<MachineExit> Exits { get { lock (_exits) return _exits.ToList(); } }

        public int Lapses => Volatile.Read(ref _lapses);

        public int Disconnects => Volatile.Read(ref _disconnects);

        /// <summary>The serial bytes received, checked to be contiguous; and the offset of the first.</summary>
        public (long Offset, string Text) Console()
        {
            var chunks = Serial;
            if (chunks.Count == 0) return (0, "");
            long end = chunks[0].Offset;
            var text = new StringBuilder();
            foreach (var (offset, bytes) in chunks)
            {
                Assert.Equal(end, offset);
                text.Append(Encoding.ASCII.GetString(bytes));
                end += bytes.Length;
            }
            return (chunks[0].Offset, text.ToString());
        }
    }
}
