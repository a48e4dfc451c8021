using System.Net;
using System.Net.Sockets;
using System.Text;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Kvm;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Xunit;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Vmm.Tests.Migration;

/// <summary>A running source machine (on the emulator unless told otherwise) with its console captured,
/// and helpers to migrate it over loopback TCP to a target in the same process, on a backend of its own.</summary>
internal sealed class MigrationHarness : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(45);

    /// <summary>How long one protocol step may take: generous, so a loaded machine does not turn a test of another failure into a timeout.</summary>
    public static readonly TimeSpan IoWait = TimeSpan.FromSeconds(15);

    private readonly IHypervisor _sourceHypervisor;
    private readonly IHypervisor _targetHypervisor;
    private readonly List<VmMachine> _machines = [];

    public MigrationHarness(string guest, ulong memoryBytes, params string[] args)
        : this(BackendKind.Emulated, BackendKind.Emulated, guest, memoryBytes, args)
    {
    }

    /// <summary>A source machine on <paramref name="source"/>; targets are created on <paramref name="target"/>
    /// (each side opens its own hypervisor, as two hosts would).</summary>
    public MigrationHarness(BackendKind source, BackendKind target, string guest, ulong memoryBytes, params string[] args)
        : this(source, target, new MachineConfig { MemoryBytes = memoryBytes, Image = new BuiltInGuestImage(guest), Args = args })
    {
    }

    /// <summary>A source machine of <paramref name="config"/> on <paramref name="source"/>; targets on <paramref name="target"/>.</summary>
    public MigrationHarness(BackendKind source, BackendKind target, MachineConfig config)
    {
        _sourceHypervisor = Open(source);
        _targetHypervisor = Open(target);
        try
        {
            Source = VmMachine.Create(_sourceHypervisor, config);
        }
        catch
        {
            _sourceHypervisor.Dispose();
            _targetHypervisor.Dispose();
            throw;
        }
        _machines.Add(Source);
        SourceConsole = Capture(Source);
        Source.Start();
    }

    private static IHypervisor Open(BackendKind kind) => kind == BackendKind.Kvm ? KvmHypervisor.Open() : new EmulatedHypervisor();

    public VmMachine Source { get; }
    public GuestConsole SourceConsole { get; }
    public VmMachine? Target { get; private set; }
    public GuestConsole? TargetConsole { get; private set; }

    /// <summary>Runs one migration from <paramref name="from"/> to a fresh target (which reserved <paramref name="reserved"/>,
    /// by default the source's machine, and made a one-time identity: TLS unless <paramref name="encrypted"/> is false); the
    /// source gets the identity's credentials, through <paramref name="credentials"/> when given (to tamper with them), and
    /// <paramref name="beforeSource"/> runs once the target listens (strangers connect there). The target's machine becomes
    /// <see cref="Target"/>. <paramref name="targetCancellation"/> ends a target that no source reached.</summary>
    public (MigrationResult Source, MigrationTargetResult Target) Migrate(VmMachine from, MigrationOptions? options = null,
        MigrationTargetOptions? targetOptions = null, Func<IPEndPoint, IPEndPoint>? route = null, CancellationToken ct = default,
        IProgress<MigrationProgress>? progress = null, MachineConfig? reserved = null, bool encrypted = true,
        Func<MigrationCredentials, MigrationCredentials>? credentials = null, Action<IPEndPoint>? beforeSource = null,
        CancellationToken targetCancellation = default)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var identity = MigrationIdentity.Create(encrypted);
        try
        {
            GuestConsole? console = null;
            var given = targetOptions ?? new MigrationTargetOptions();
            var target = new MigrationTarget(_targetHypervisor, reserved ?? from.Config, given with
            {
                IoTimeout = IoWait,
                MachineCreated = m =>
                {
                    console = Capture(m);
                    given.MachineCreated?.Invoke(m);
                },
            });
            var receiving = target.ReceiveAsync(listener, identity, targetCancellation);
            var endpoint = (IPEndPoint)listener.LocalEndpoint;
            beforeSource?.Invoke(endpoint);
            var sourceCredentials = credentials?.Invoke(identity.Credentials) ?? identity.Credentials;
            var sending = new MigrationSource(from, (options ?? new MigrationOptions()) with { IoTimeout = IoWait })
                .MigrateAsync(route?.Invoke(endpoint) ?? endpoint, sourceCredentials, progress, ct);
            Assert.True(sending.Wait(Timeout), "the source did not finish in time");
            Assert.True(receiving.Wait(Timeout), $"the target did not finish in time (the source: {sending.Result.FailureReason ?? "succeeded"})");
            if (receiving.Result.Machine is { } m)
            {
                lock (_machines) _machines.Add(m);
                Target = m;
                TargetConsole = console;
            }
            return (sending.Result, receiving.Result);
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds (polling), failing after <see cref="Timeout"/>.</summary>
    public static void WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            Thread.Sleep(5);
        }
    }

    public static GuestConsole Capture(VmMachine machine)
    {
        var console = new GuestConsole();
        machine.Serial.Output += console.Append;
        return console;
    }

    public void Dispose()
    {
        lock (_machines)
            foreach (var m in _machines) m.Dispose();
        _sourceHypervisor.Dispose();
        _targetHypervisor.Dispose();
    }

    /// <summary>A machine's console output so far.</summary>
    internal sealed class GuestConsole
    {
        private readonly StringBuilder _text = new();

        public string Text { get { lock (_text) return _text.ToString(); } }

        public void Append(ReadOnlySpan<byte> bytes)
        {
            lock (_text) _text.Append(Encoding.ASCII.GetString(bytes));
        }
    }
}
