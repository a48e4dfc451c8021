using System.Text;
using Cluster.Vmm.Kvm;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Tests.Kvm;
using Cluster.Vmm.Tests.TestUtils;
using Cluster.Vmm.Worker;
using Xunit;

namespace Cluster.Vmm.Tests.Worker;

public class WorkerHostTests
{
    [Fact]
    public async Task A_worker_that_no_node_talks_to_for_its_abandon_time_ends_itself_while_one_renewed_in_time_goes_on()
    {
        var after = TimeSpan.FromMilliseconds(1500);
        using var abandoned = new WorkerRig("abandoned", o => o with { AbandonAfter = after });
        using var kept = new WorkerRig("kept", o => o with { AbandonAfter = after });
        using var client = kept.Connect();
        using var stop = new CancellationTokenSource();
        var renewing = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                client.Info();
                await Task.Delay(100);
            }
        });
        client.Create(WorkerRig.Guest("counter"));
        client.Start();
        await Task.Delay(after * 2);
        await abandoned.Host.Completion.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(File.Exists(abandoned.Host.SocketPath));
        Assert.False(kept.Host.Completion.IsCompleted);
        Assert.Equal(WorkerVmState.Running, client.Info().State);
        await stop.CancelAsync();
        await renewing;
    }

    [Fact]
    public void Creates_starts_and_streams_the_console_then_reports_the_guest_exit()
    {
        using var rig = new WorkerRig();
        using var client = rig.Connect();
        var events = new WorkerRig.Events(client);
        Assert.Equal(WorkerVmState.Empty, client.Info().State);

        client.Create(WorkerRig.Guest("hello", "exit=3"));
        Assert.Equal(WorkerVmState.Created, client.Info().State);
        client.Start();
        WorkerRig.WaitUntil(() => events.Exits.Count == 1, "the exit event");

        var exit = events.Exits[0];
        Assert.Equal((MachineExitKind.GuestExit, 3), (exit.Kind, exit.ExitStatus));
        var (offset, text) = events.Console();
        Assert.Equal(0, offset);
        Assert.Contains("Hello from the guest!", text);
        var info = client.Info();
        Assert.Equal((WorkerVmState.Finished, "vm-1", 1L), (info.State, info.VmId, info.Epoch));
        Assert.Equal(text, Encoding.ASCII.GetString(info.ConsoleHistory));
        Assert.Equal(3, info.Exit?.ExitStatus);
    }

    [KvmFact]
    public void Runs_a_guest_on_kvm_too()
    {
        using var rig = new WorkerRig(hypervisor: KvmHypervisor.Open());
        using var client = rig.Connect();
        var events = new WorkerRig.Events(client);
        client.Create(WorkerRig.Guest("hello", "exit=4"));
        client.Start();
        WorkerRig.WaitUntil(() => events.Exits.Count == 1, "the exit event");
        Assert.Equal(4, events.Exits[0].ExitStatus);
        Assert.Contains("Hello from the guest!", events.Console().Text);
    }

    [KvmFact]
    public void A_worker_waiting_for_kvm_runs_its_guest_on_the_device_passed_with_create()
    {
        var passed = new PassedKvm();
        using var rig = new WorkerRig(hypervisor: passed);
        using var client = rig.Connect();
        var events = new WorkerRig.Events(client);
        Assert.Contains("no /dev/kvm yet", Assert.Throws<VmmException>(() => client.Create(WorkerRig.Guest("hello", "exit=4"))).Message);

        using (var kvm = PassedKvm.OpenDevice())
            client.Create(WorkerRig.Guest("hello", "exit=4") with { Kvm = kvm });
        client.Start();
        WorkerRig.WaitUntil(() => events.Exits.Count == 1, "the exit event");
        Assert.True(passed.HasDevice);
        Assert.Equal(4, events.Exits[0].ExitStatus);
    }

    [Fact]
    public void Pauses_resumes_saves_state_and_stops_a_running_guest()
    {
        using var rig = new WorkerRig();
        using var client = rig.Connect();
        var events = new WorkerRig.Events(client);
        client.Create(WorkerRig.Guest("counter"));
        client.Start();
        WorkerRig.WaitUntil(() => events.Serial.Count > 0, "console output");

        client.Pause();
        Assert.Equal(WorkerVmState.Paused, client.Info().State);
        var snapshot = MachineSnapshot.FromBytes(client.SaveState());
        Assert.Equal(1, snapshot.VcpuCount);
        long end = client.Info().ConsoleEnd;
        Thread.Sleep(50);
        Assert.Equal(end, client.Info().ConsoleEnd);

        client.Resume();
        WorkerRig.WaitUntil(() => client.Info().ConsoleEnd > end, "output after Resume");
        var stats = client.Stats();
        Assert.Equal(WorkerVmState.Running, stats.State);
        Assert.True(stats.GuestCpuTime > TimeSpan.Zero);
        Assert.True(stats.RssBytes > 0);

        client.Stop();
        WorkerRig.WaitUntil(() => events.Exits.Count == 1, "the exit event");
        Assert.Equal(MachineExitKind.Stopped, events.Exits[0].Kind);
        Assert.Equal(WorkerVmState.Finished, client.Info().State);
        var lines = CounterLines.Parse(events.Console().Text);
        Assert.Equal(Enumerable.Range(1, lines.Count), lines);
    }

    [Fact]
    public void Serial_input_reaches_the_guest_uart()
    {
        using var rig = new WorkerRig();
        using var client = rig.Connect();
        client.Create(WorkerRig.Guest("counter"));
        Assert.Equal(5, client.SendSerialInput("hello"u8.ToArray()));
        Assert.Equal(5, rig.Host.Vm.Machine!.Serial.PendingInput);
    }

    [Fact]
    public void Requests_that_do_not_fit_the_state_are_refused_with_a_reason()
    {
        using var rig = new WorkerRig();
        using var client = rig.Connect();
        Assert.Contains("has none yet", Assert.Throws<VmmException>(client.Start).Message);
        client.Create(WorkerRig.Guest("hello"));
        Assert.Contains("already has VM vm-1", Assert.Throws<VmmException>(() => client.Create(WorkerRig.Guest("hello"))).Message);
        Assert.Contains("no built-in guest", Assert.Throws<VmmException>(() =>
        {
            using var rig2 = new WorkerRig();
            using var other = rig2.Connect();
            other.Create(WorkerRig.Guest("no-such-guest"));
        }).Message);
    }

    [Fact]
    public void A_reconnecting_client_gets_the_console_history_without_a_gap()
    {
        using var rig = new WorkerRig();
        var first = rig.Connect();
        var seen = new WorkerRig.Events(first);
        first.Create(WorkerRig.Guest("counter", "3000"));
        first.Start();
        WorkerRig.WaitUntil(() => seen.Serial.Count >= 2, "some output");
        first.Dispose();
        Assert.Equal(1, seen.Disconnects);
        var (offset, before) = seen.Console();
        Assert.Equal(0, offset);

        using var second = rig.Connect();
        var later = new WorkerRig.Events(second);
        WorkerRig.WaitUntil(() => second.Info().State == WorkerVmState.Finished, "the guest's end");
        var info = second.Info();
        Assert.Equal(0, info.ConsoleOffset);
        var history = Encoding.ASCII.GetString(info.ConsoleHistory);
        Assert.StartsWith(before, history);
        Assert.Equal(Enumerable.Range(1, 3000), CounterLines.Parse(history));
        // Live events after the re-attach continue from somewhere inside the history: no gap.
        var (liveOffset, live) = later.Console();
        if (live.Length > 0)
        {
            Assert.InRange(liveOffset, 0, info.ConsoleEnd);
            Assert.Equal(history[(int)liveOffset..((int)liveOffset + live.Length)], live);
        }
    }

    [Fact]
    public void A_new_client_replaces_the_current_one_and_the_guest_keeps_running()
    {
        using var rig = new WorkerRig();
        using var first = rig.Connect();
        var firstEvents = new WorkerRig.Events(first);
        first.Create(WorkerRig.Guest("counter"));
        first.Start();
        using var second = rig.Connect();
        WorkerRig.WaitUntil(() => firstEvents.Disconnects == 1, "the first client's disconnection");
        Assert.Throws<VmmException>(() => first.Info());
        long end = second.Info().ConsoleEnd;
        WorkerRig.WaitUntil(() => second.Info().ConsoleEnd > end, "more output");
        Assert.Equal(WorkerVmState.Running, second.Info().State);
    }

    [Fact]
    public void A_lapsed_permit_pauses_the_guest_until_renewed_and_resumed()
    {
        using var rig = new WorkerRig();
        using var client = rig.Connect();
        var events = new WorkerRig.Events(client);
        client.Create(WorkerRig.Guest("counter") with { InitialPermit = TimeSpan.FromSeconds(1) });
        client.Start();
        WorkerRig.WaitUntil(() => events.Lapses == 1, "the permit lapse");
        var info = client.Info();
        Assert.Equal(WorkerVmState.Paused, info.State);
        Assert.True(info.PermitLapsed);
        Assert.Contains("permit lapsed", Assert.Throws<VmmException>(client.Resume).Message);

        client.RenewPermit(TimeSpan.FromSeconds(30));
        Assert.Equal(WorkerVmState.Paused, client.Info().State);
        client.Resume();
        info = client.Info();
        Assert.Equal(WorkerVmState.Running, info.State);
        Assert.False(info.PermitLapsed);
        Assert.InRange(info.PermitRemaining!.Value, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(30));
        Assert.Equal(1, events.Lapses);
    }

    [Fact]
    public void Without_a_required_permit_nothing_is_enforced_until_the_first_renewal()
    {
        using var rig = new WorkerRig();
        using var client = rig.Connect();
        client.Create(WorkerRig.Guest("counter") with { PermitRequired = false, InitialPermit = TimeSpan.Zero });
        client.Start();
        Thread.Sleep(100);
        Assert.Equal((WorkerVmState.Running, (TimeSpan?)null), (client.Info().State, client.Info().PermitRemaining));
        client.RenewPermit(TimeSpan.Zero);
        WorkerRig.WaitUntil(() => client.Info().State == WorkerVmState.Paused, "the pause on the lapse");
    }

    [Fact]
    public async Task Shutdown_stops_the_guest_ends_the_host_and_removes_its_files()
    {
        using var rig = new WorkerRig();
        var client = rig.Connect();
        client.Create(WorkerRig.Guest("counter"));
        client.Start();
        Assert.True(File.Exists(rig.Host.RecordPath));
        client.Shutdown();
        Assert.Equal(0, await rig.Host.Completion.WaitAsync(WorkerRig.Timeout));
        Assert.False(File.Exists(rig.Host.SocketPath));
        Assert.False(File.Exists(rig.Host.RecordPath));
        client.Dispose();
    }

    [Fact]
    public void A_client_that_does_not_read_never_holds_up_the_guest()
    {
        using var rig = new WorkerRig(configure: o => o with { SendTimeout = TimeSpan.FromMilliseconds(300) });
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        socket.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(rig.Host.SocketPath));
        socket.ReceiveBufferSize = 4096;
        using var mute = new WorkerChannel(socket, WorkerRig.Timeout);
        mute.Write(WorkerMessageType.Hello, 1, BitConverter.GetBytes(WorkerProtocol.Version));
        mute.Write(WorkerMessageType.Create, 2, WorkerCodec.Encode(w => w.Write(WorkerRig.Guest("counter") with { PermitRequired = false })));
        mute.Write(WorkerMessageType.Start, 3, []);

        var console = rig.Host.Vm.Console;
        WorkerRig.WaitUntil(() => console.End > 4 * WorkerProtocol.ConsoleHistoryBytes, "output far past the history");
        var tail = Encoding.ASCII.GetString(console.Read(console.End - 8192).Bytes);
        var lines = CounterLines.Parse(tail[(tail.IndexOf('\n') + 1)..]);
        Assert.Equal(Enumerable.Range(lines[0], lines.Count), lines);
        using var reader = rig.Connect();
        Assert.Equal(WorkerVmState.Running, reader.Info().State);
    }
}
