using Cluster.Vmm.Tests.TestUtils;
using Cluster.Vmm.Worker;
using Xunit;

namespace Cluster.Vmm.Tests.Worker;

public class WorkerProtocolTests
{
    [Fact]
    public void A_worker_one_version_back_is_accepted()
    {
        using var rig = new WorkerRig(configure: o => o with { ProtocolVersion = WorkerProtocol.Version - 1 });
        using var client = rig.Connect();
        Assert.Equal(WorkerProtocol.Version - 1, client.WorkerVersion);
        Assert.Equal(WorkerVmState.Empty, client.Info().State);
    }

    [Fact]
    public void A_worker_one_version_back_and_a_current_one_report_their_io_counters()
    {
        // Version 5 brought the counters; 6 (an incoming migration asks its client for an unknown commit outcome) keeps them.
        using (var old = new WorkerRig("old", configure: o => o with { ProtocolVersion = WorkerProtocol.Version - 1 }))
        {
            using var client = old.Connect();
            client.Create(WorkerRig.Guest("counter"));
            var stats = client.Stats();
            Assert.Equal(WorkerVmState.Created, stats.State);
            Assert.Equal(Cluster.Vmm.Devices.IoCounters.Zero, stats.Io);
        }
        using var rig = new WorkerRig("new");
        using var current = rig.Connect();
        Assert.Equal(Cluster.Vmm.Devices.IoCounters.Zero, current.Stats().Io);
    }

    [Theory]
    [InlineData(-2)]
    [InlineData(1)]
    public void A_worker_of_another_version_is_refused_with_both_versions_named(int delta)
    {
        uint version = unchecked((uint)((int)WorkerProtocol.Version + delta));
        using var rig = new WorkerRig(configure: o => o with { ProtocolVersion = version });
        var e = Assert.Throws<VmmException>(rig.Connect);
        Assert.Contains($"speaks protocol version {version}", e.Message);
        Assert.Contains($"this client speaks version {WorkerProtocol.Version}", e.Message);
    }

    [Fact]
    public void A_client_of_another_uid_is_refused()
    {
        using var rig = new WorkerRig(configure: o => o with { ClientUid = 12345 });
        var e = Assert.Throws<VmmException>(rig.Connect);
        Assert.Contains("is not uid 12345", e.Message);
    }

    [Fact]
    public void The_record_names_the_worker_and_its_vm_and_stale_records_are_removed()
    {
        using var rig = new WorkerRig("rec");
        using var client = rig.Connect();
        client.Create(WorkerRig.Guest("hello"));
        var stale = new WorkerRecord { Name = "gone", Pid = int.MaxValue, Socket = Path.Combine(rig.Directory, "gone.sock") };
        stale.WriteTo(Path.Combine(rig.Directory, "gone.json"));

        var live = Assert.Single(WorkerDirectory.Scan(rig.Directory));
        Assert.Equal(("rec", Environment.ProcessId, rig.Host.SocketPath, "vm-1", WorkerVmState.Created, WorkerProtocol.Version),
            (live.Name, live.Pid, live.Socket, live.VmId, live.State, live.ProtocolVersion));
        Assert.False(File.Exists(Path.Combine(rig.Directory, "gone.json")));
    }

    [Fact]
    public void Console_history_keeps_the_last_bytes_with_their_offsets()
    {
        var history = new ConsoleHistory(8);
        history.Append("abcdef"u8);
        history.Append("ghij"u8);
        var (offset, bytes) = history.Read(0);
        Assert.Equal((2L, "cdefghij"), (offset, System.Text.Encoding.ASCII.GetString(bytes)));
        Assert.Equal((9L, "j"), ValueOf(history.Read(9)));
        Assert.Equal((4L, "ef"), ValueOf(history.Read(4, 2)));
        history.Append("0123456789xyz"u8);
        Assert.Equal((15L, "56789xyz"), ValueOf(history.Read(0)));
    }

    private static (long, string) ValueOf((long Offset, byte[] Bytes) read) => (read.Offset, System.Text.Encoding.ASCII.GetString(read.Bytes));
}
