using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Xunit;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Vmm.Tests.Migration;

/// <summary>The migration port faces the network: strangers, a wrong certificate, a Hello that names another machine,
/// cleartext on the wire, and a target that fails while its page readers write.</summary>
public class MigrationSecurityTests
{
    private const ulong Memory = 32UL << 20;

    [Fact]
    public void Strangers_that_connect_first_change_nothing_and_the_real_migration_succeeds()
    {
        using var h = new MigrationHarness("counter", Memory);
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("count 50\n"), "the guest to count");
        var strangers = new List<IDisposable>();
        try
        {
            var (source, target) = h.Migrate(h.Source, beforeSource: endpoint =>
            {
                // A plain TCP peer that opens with a Hello naming a host file as the guest image; a TLS peer without a
                // token; a TLS peer with a wrong token and the same Hello; a peer that connects and says nothing.
                strangers.Add(PlainStranger(endpoint, ForgedHello()));
                strangers.Add(TlsStranger(endpoint, token: null, then: []));
                strangers.Add(TlsStranger(endpoint, token: new byte[MigrationCredentials.TokenBytes], then: ForgedHello()));
                strangers.Add(PlainStranger(endpoint, []));
                // Every stranger is connected (and the TLS ones through their handshake) before the source starts.
            });

            Assert.True(source.Succeeded, source.FailureReason);
            Assert.True(target.Succeeded, target.FailureReason);
            // At least the garbage and the wrong token (the silent ones are dropped when the migration ends).
            Assert.True(target.ConnectionsRefused >= 2, $"{target.ConnectionsRefused} connections refused");
            Assert.Equal(new BuiltInGuestImage("counter"), h.Target!.Config.Image);
            string before = h.SourceConsole.Text;
            MigrationHarness.WaitUntil(() => h.TargetConsole!.Text.Split('\n').Length > 20, "the guest to count on the target");
            h.Target.Pause();
            MigrationAssert.CountsWithoutGapOrRepeat(before + h.TargetConsole!.Text);
        }
        finally
        {
            foreach (var s in strangers) s.Dispose();
        }
    }

    [Fact]
    public void A_source_given_another_certificate_pin_refuses_to_send_and_the_vm_runs_on_at_the_source()
    {
        using var h = new MigrationHarness("counter", Memory);
        using var cts = new CancellationTokenSource();
        using var other = MigrationIdentity.Create();
        // The source holds the right token but the pin of another certificate: whoever answers is not the prepared target.
        var (source, target) = h.Migrate(h.Source,
            credentials: real => real with { CertificatePin = other.Credentials.CertificatePin },
            beforeSource: _ => cts.CancelAfter(TimeSpan.FromSeconds(5)), targetCancellation: cts.Token);

        Assert.False(source.Succeeded);
        Assert.Contains("does not match the pin", source.FailureReason);
        Assert.False(target.Succeeded);
        Assert.Equal(0, target.BytesReceived);
        Assert.Equal(1, target.ConnectionsRefused);
        Assert.Null(target.Machine);
        MigrationAssert.RunsOnSourceOnly(h);
    }

    public static TheoryData<string> Differences => ["image", "args", "vcpus", "memory"];

    [Theory]
    [MemberData(nameof(Differences))]
    public void A_hello_that_differs_from_the_reserved_machine_is_refused(string field)
    {
        using var h = new MigrationHarness("counter", Memory);
        var config = h.Source.Config;
        var reserved = field switch
        {
            "image" => config with { Image = new ElfGuestImage("/etc/passwd") },
            "args" => config with { Args = ["other"] },
            "vcpus" => config with { Vcpus = 2 },
            _ => config with { MemoryBytes = Memory * 2 },
        };
        var (source, target) = h.Migrate(h.Source, reserved: reserved);

        string what = field switch { "image" => "guest image mismatch", "args" => "guest arguments mismatch", "vcpus" => "vCPU count mismatch", _ => "memory size mismatch" };
        Assert.False(source.Succeeded);
        Assert.Contains($"the target refused: {what}", source.FailureReason);
        Assert.False(target.Succeeded);
        Assert.Contains(what, target.FailureReason);
        Assert.Null(target.Machine);
        MigrationAssert.RunsOnSourceOnly(h);
    }

    [Fact]
    public void The_target_creates_the_reserved_machine_not_the_one_the_hello_describes()
    {
        using var hv = new EmulatedHypervisor();
        var reserved = new MachineConfig { MemoryBytes = Memory, Image = new BuiltInGuestImage("counter"), Args = ["1"] };
        var target = new MigrationTarget(hv, reserved);
        var hello = new MigrationHello(MigrationProtocol.Version, 1, 1, hv.Kind, hv.CpuModel, reserved with { Image = new ElfGuestImage("/etc/shadow") });
        Assert.Contains("guest image mismatch", target.CheckCompatibility(hello));
        Assert.Contains("/etc/shadow", target.CheckCompatibility(hello));
        Assert.Null(target.CheckCompatibility(hello with { Config = reserved }));
        Assert.Contains("disk count mismatch", target.CheckCompatibility(hello with { Config = reserved with { Disks = [new DiskConfig("/dev/sda")] } }));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Guest_memory_crosses_the_wire_only_encrypted_unless_plaintext_is_asked_for(bool encrypted)
    {
        using var h = new MigrationHarness("counter", Memory);
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("count 20\n"), "the guest to count");
        Relay? relay = null;
        try
        {
            var (source, target) = h.Migrate(h.Source, encrypted: encrypted, route: endpoint => (relay = new Relay(endpoint, record: true)).Endpoint);
            Assert.True(source.Succeeded, source.FailureReason);
            Assert.True(target.Succeeded, target.FailureReason);
            Assert.Equal(encrypted ? "Tls13 TLS_AES_128_GCM_SHA256" : "plaintext", target.Transport);
            h.Target!.Pause();
            var sample = CodeSample(h.Target);
            var wire = relay!.Recorded;
            Assert.True(wire.Length > 1 << 16, $"{wire.Length} bytes recorded");
            Assert.Equal(!encrypted, wire.AsSpan().IndexOf(sample) >= 0);
        }
        finally
        {
            relay?.Dispose();
        }
    }

    [Fact]
    public void Aborting_a_three_connection_migration_mid_round_many_times_never_writes_into_freed_memory()
    {
        using var h = new MigrationHarness("abpages", Memory, "8");
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("abpages pass 2\n"), "the guest to write its pages");
        var options = new MigrationOptions { Connections = 3, Mode = MigrationMode.PreCopy };
        const int Rounds = 20;
        for (int i = 0; i < Rounds; i++)
        {
            // The control connection is cut after 64 KiB to 1.9 MiB of pages while the two data connections carry theirs:
            // the target fails on its control path while its readers are writing pages into guest memory.
            long cut = (64L << 10) + i * (96L << 10);
            Relay? relay = null;
            try
            {
                var (source, target) = h.Migrate(h.Source, options, route: endpoint => (relay = new Relay(endpoint, cutControlAfter: cut)).Endpoint);
                Assert.False(source.Succeeded, $"round {i}: the migration succeeded despite the cut");
                Assert.False(target.Succeeded);
                Assert.Null(target.Machine);
                Assert.NotNull(target.FailureReason);
                Assert.True(relay!.Cut, $"round {i}: the control connection was not cut");
                Assert.Equal(3, relay.Connections);
            }
            finally
            {
                relay?.Dispose();
            }
            Assert.Equal(MachineRunState.Running, h.Source.State);
        }
        MigrationAssert.RunsOnSourceOnly(h, "abpages pass");
    }

    [Fact]
    public void A_lease_keeps_host_memory_mapped_past_its_dispose_and_none_is_given_after()
    {
        var memory = Cluster.Vmm.Memory.HostMemory.Allocate(1 << 20);
        var lease = memory.Lease();
        memory.Dispose();
        // Still mapped: the write lands (it would fault on an unmapped page).
        memory.AsSpan(4096, 8).Fill(0xab);
        Assert.Equal(0xab, memory.AsSpan(4096, 1)[0]);
        lease.Dispose();
        Assert.Throws<ObjectDisposedException>(() => memory.Lease());
    }

    /// <summary>64 bytes of the guest's code (a page with many distinct byte values), as the target received them.</summary>
    private static byte[] CodeSample(VmMachine machine)
    {
        var page = new byte[4096];
        for (ulong gpa = 0; gpa < Memory; gpa += 4096)
        {
            machine.Memory.Read(gpa, page);
            for (int at = 0; at + 64 <= page.Length; at += 64)
                if (page.AsSpan(at, 64).ToArray().Distinct().Count() >= 24)
                    return page.AsSpan(at, 64).ToArray();
        }
        throw new InvalidOperationException("no page of guest code found");
    }

    /// <summary>A Hello frame for a machine whose image is a host file (what a stranger would like the target to load).</summary>
    private static byte[] ForgedHello()
    {
        using var hv = new EmulatedHypervisor();
        var payload = new MigrationHello(MigrationProtocol.Version, 7, 1, hv.Kind, hv.CpuModel,
            new MachineConfig { MemoryBytes = Memory, Image = new ElfGuestImage("/etc/shadow") }).ToBytes();
        var frame = new byte[MigrationProtocol.HeaderSize + payload.Length];
        frame[0] = (byte)MigrationCommand.Hello;
        BitConverter.TryWriteBytes(frame.AsSpan(4), payload.Length);
        payload.CopyTo(frame, MigrationProtocol.HeaderSize);
        return frame;
    }

    private static Socket PlainStranger(IPEndPoint target, byte[] send)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect(target);
        if (send.Length > 0) socket.Send(send);
        return socket;
    }

    /// <summary>A TLS client that accepts any certificate, then sends <paramref name="token"/> (when given) and <paramref name="then"/>.</summary>
    private static SslStream TlsStranger(IPEndPoint target, byte[]? token, byte[] then)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect(target);
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false, (_, _, _, _) => true);
        ssl.AuthenticateAsClient(MigrationChannel.TargetHost);
        if (token is not null) ssl.Write(token);
        if (then.Length > 0) ssl.Write(then);
        ssl.Flush();
        return ssl;
    }
}
