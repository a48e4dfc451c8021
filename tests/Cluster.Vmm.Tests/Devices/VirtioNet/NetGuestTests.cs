using System.Text;
using System.Text.RegularExpressions;
using Cluster.Vmm.Devices.Virtio;
using Cluster.Vmm.Devices.VirtioNet;
using Cluster.Vmm.Hypervisor;
using Xunit;

namespace Cluster.Vmm.Tests.Devices.VirtioNet;

/// <summary>
/// The freestanding guest guests/net.c, with its own virtio-net driver, on our virtio-net over a real tap: frames the
/// host sends into the tap (an AF_PACKET socket) reach the guest and its echoes come back byte for byte, in buffers that
/// merge (MRG_RXBUF) or not; the MAC and MTU of the config are what the guest reads; a flood is dropped and counted, not
/// buffered; oversized frames and garbage descriptors cost only the guest that sent them.
/// </summary>
public sealed class NetGuestTests
{
    private static readonly TimeSpan EchoWait = TimeSpan.FromSeconds(20);

    /// <summary>Sizes around every buffer and MTU edge: 60 (the minimum frame) .. 1518 (MTU 1500 + header + VLAN tag).</summary>
    private static readonly int[] Sizes =
        [60, 61, 64, 100, 127, 128, 129, 243, 244, 245, 255, 256, 257, 500, 511, 512, 513, 1000, 1023, 1024, 1025, 1400, 1499, 1500, 1513, 1514, 1515, 1518];

    [NetFact]
    public void A_starting_machine_announces_its_nics_mac_on_the_tap_so_a_failover_is_reachable_at_once()
    {
        // A guest booted cold elsewhere after its host died may send nothing for a while (this one only answers): the
        // bridges would keep sending its frames towards the dead host. The VMM sends RARPs for the MAC as it starts.
        using var rig = new NetRig("feat=all echo 0");
        rig.Start();
        var rarp = NetRig.ReceiveTest(rig.Socket, EchoWait, Announcement.EtherTypeRarp);
        Assert.True(rarp is not null, $"no RARP on the tap after the start; console: {rig.Console}");
        Assert.Equal(Cluster.Vmm.Machine.NicConfig.ParseMac(NetRig.GuestMac), rarp.AsSpan(6, 6).ToArray());
        Assert.True(SpinWait.SpinUntil(() => rig.Device.Counters["announces"] == VirtioNetDevice.AnnounceRounds, EchoWait),
            $"announces: {rig.Device.Counters["announces"]}");
        // The guest was not asked to announce itself (its driver had not negotiated yet): only the VMM's frames.
        Assert.False(rig.Device.AnnouncePending);
    }

    [NetTheory]
    [InlineData("all", 256)]   // MRG_RXBUF: a frame spans up to 7 buffers of 256 bytes
    [InlineData("none", 2048)] // one buffer per frame
    public void Frames_of_every_size_come_back_from_the_echo_guest_byte_exact(string features, int rxbuf)
    {
        using var rig = new NetRig($"feat={features} rxbuf={rxbuf} echo 0");
        rig.Start();
        rig.WaitForConsole("echo ready");
        EchoEach(rig, Sizes.Concat(Enumerable.Range(0, 20).Select(_ => Random.Shared.Next(60, 1519))));

        // One byte over MTU + 18: dropped by the device and counted; the next frame still comes back.
        Assert.Equal(0, rig.Socket.Send(NetRig.Frame(1519, 0xdead)));
        EchoEach(rig, [1518]);
        Assert.Equal(1, rig.Device.Counters["rx_oversize"]);
        Assert.Equal(0, rig.Device.Counters["queue_errors"]);
    }

    [NetKvmFact]
    public void Frames_come_back_byte_exact_on_kvm()
    {
        using var rig = new NetRig("feat=all rxbuf=512 echo 0", BackendKind.Kvm);
        rig.Start();
        rig.WaitForConsole("echo ready");
        EchoEach(rig, [60, 511, 512, 513, 1024, 1500, 1514, 1518]);
    }

    [NetTheory]
    [InlineData(false)]
    [InlineData(true)] // the tap opened beforehand and its fd handed to the machine, as a node hands it to its worker
    public void The_guest_reads_the_mac_and_mtu_of_the_config(bool passFd)
    {
        using var rig = new NetRig("info", mtu: 1450, passFd: passFd, mac: "52:54:00:ab:cd:ef");
        Assert.Equal(0, rig.RunToExit());
        Assert.Contains("info mac=52:54:00:ab:cd:ef status=1 mtu=1450", rig.Console);
        ulong features = Convert.ToUInt64(Regex.Match(rig.Console, @"driver_features=(\S+)").Groups[1].Value, 16);
        foreach (int bit in new[] { 3, 5, 15, 16, 17, 18, 21, 32 })
            Assert.True((features >> bit & 1) == 1, $"feature {bit} not negotiated: {features:x}");
        Assert.Equal(0UL, features & (1UL << 0 | 1UL << 1 | 1UL << 22)); // no CSUM, GUEST_CSUM or MQ offered
    }

    [NetFact]
    public void A_burst_larger_than_the_queue_is_dropped_and_counted_not_buffered()
    {
        // The guest posts its 256 buffers, then takes nothing for 3 s while 1500 frames arrive.
        using var rig = new NetRig("feat=none rxbuf=2048 delay_ms=3000 echo 0");
        rig.Start();
        rig.WaitForConsole("echo ready");
        long kernelDropsBefore = NetRig.KernelCounter(rig.Tap, "tx_dropped");
        int sent = 0;
        var sending = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 1500; i++)
            if (rig.Socket.Send(NetRig.Frame(60, (ulong)i)) == 0) sent++;
        bool burstWithinPause = sending.Elapsed < TimeSpan.FromSeconds(2.5);
        // Every frame is either echoed (delivered), dropped by the device (backlog full) or dropped by the kernel (the
        // tap's own queue): collect echoes until the three account for all that were sent, or 30 s passed.
        var seen = new HashSet<ulong>();
        long kernelDrops = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        IReadOnlyDictionary<string, long> c;
        while (true)
        {
            c = rig.Device.Counters;
            kernelDrops = NetRig.KernelCounter(rig.Tap, "tx_dropped") - kernelDropsBefore;
            if ((seen.Count == c["rx_frames"] && seen.Count + c["rx_dropped"] + kernelDrops == sent) || DateTime.UtcNow > deadline) break;
            if (rig.ReceiveTest(TimeSpan.FromMilliseconds(500)) is not { } echo) continue;
            ulong tag = BitConverter.ToUInt64(echo, 14);
            Assert.True(seen.Add(tag), $"frame {tag} came back twice");
            Assert.Equal(NetRig.Echo(NetRig.Frame(60, tag)), echo);
        }
        string figures = $"sent {sent}, echoed {seen.Count}, rx_frames {c["rx_frames"]}, rx_dropped {c["rx_dropped"]}, kernel drops {kernelDrops}, backlog peak {c["rx_backlog_peak"]}";
        Assert.True(c["rx_dropped"] > 0, $"nothing was dropped: {figures}");
        // While the guest takes nothing, the ring's 256 buffers and the backlog are all that can hold frames (a host too
        // loaded to send the burst within the guest's pause lets it take some meanwhile: then the bound does not apply).
        if (burstWithinPause) Assert.True(seen.Count <= 256 + VirtioNetDevice.BacklogFrames, $"more came back than the ring and the backlog hold: {figures}");
        Assert.True(c["rx_backlog_peak"] <= VirtioNetDevice.BacklogFrames, figures);
        Assert.True(sent == seen.Count + c["rx_dropped"] + kernelDrops, $"frames unaccounted for: {figures}");
        Assert.True(seen.Count == c["rx_frames"], $"delivered frames that never came back: {figures}");
    }

    [NetFact]
    public void A_guest_that_sends_garbage_descriptors_breaks_only_its_device()
    {
        using var rig = new NetRig("feat=all garbage");
        Assert.Equal(0, rig.RunToExit());
        Assert.Contains("needs_reset=1", rig.Console);
        var transport = rig.Machine.Devices.Devices.OfType<VirtioPciTransport>().Single();
        Assert.Contains("outside guest memory", transport.NeedsResetReason);
        Assert.Equal(1, rig.Device.Counters["queue_errors"]);
        // The device's receive thread lives on: frames for the broken device are dropped and counted.
        Assert.Equal(0, rig.Socket.Send(NetRig.Frame(60, 1)));
        Assert.True(SpinWait.SpinUntil(() => rig.Device.Counters["rx_dropped"] == 1, EchoWait), "the frame was not counted as dropped");
    }

    [NetFact]
    public void An_oversized_frame_from_the_guest_is_dropped_and_counted_and_the_next_one_goes_out()
    {
        using var rig = new NetRig("feat=all oversize");
        Assert.Equal(0, rig.RunToExit());
        Assert.Contains("oversize sent", rig.Console);
        var frame = rig.ReceiveTest(EchoWait);
        Assert.NotNull(frame);
        Assert.Equal(60, frame.Length);
        Assert.Equal("AFTER-OVERSIZE", Encoding.ASCII.GetString(frame, 22, 14));
        Assert.Equal(1, rig.Device.Counters["tx_oversize"]);
        Assert.Equal(1, rig.Device.Counters["tx_frames"]);
    }

    [NetFact]
    public void The_guest_sends_numbered_frames_that_arrive_in_order()
    {
        using var rig = new NetRig("feat=all send 300 1000");
        Assert.Equal(0, rig.RunToExit());
        for (ulong i = 0; i < 300; i++)
        {
            var f = rig.ReceiveTest(EchoWait);
            Assert.NotNull(f);
            Assert.Equal(1000, f.Length);
            Assert.Equal(i, BitConverter.ToUInt64(f, 14));
            for (int k = 22; k < 1000; k++) Assert.True(f[k] == (byte)(i + (ulong)k), $"frame {i} byte {k}");
        }
        Assert.Equal(300, rig.Device.Counters["tx_frames"]);
        // The machine's I/O counters (what the node graphs) are the same frames and bytes; no disk.
        var io = rig.Machine.Devices.IoCounters();
        Assert.Equal((300L, 300L * 1000), (io.NetTxPackets, io.NetTxBytes));
        Assert.Equal((0L, 0L), (io.DiskWriteBytes, io.DiskReadOps));
    }

    [NetFact]
    public void Frames_sent_while_the_tap_is_down_are_dropped_and_counted()
    {
        using var rig = new NetRig("feat=all send 10 100", up: false);
        Assert.Equal(0, rig.RunToExit());
        Assert.Contains("send frames=10", rig.Console);
        Assert.Equal(10, rig.Device.Counters["tx_dropped"]);
        Assert.Equal(0, rig.Device.Counters["tx_frames"]);
    }

    [NetFact]
    public void A_tap_deleted_under_the_device_takes_the_link_down_and_the_guest_runs_on()
    {
        using var rig = new NetRig("feat=all echo 0");
        rig.Start();
        rig.WaitForConsole("echo ready");
        Assert.True(rig.Device.LinkUp);
        NetRig.Ip($"link del {rig.Tap}");
        Assert.True(SpinWait.SpinUntil(() => !rig.Device.LinkUp, EchoWait), "the link stayed up");
        Assert.Null(rig.Machine.Exit);
    }

    [NetFact]
    public void With_promiscuous_mode_off_frames_for_another_mac_are_filtered_and_the_guests_own_still_come_back()
    {
        using var rig = new NetRig("feat=all promisc=0 echo 0");
        rig.Start();
        rig.WaitForConsole("echo ready");
        Assert.Equal(0, rig.Socket.Send(NetRig.Frame(100, 77, dstMac: "52:54:00:99:99:99")));
        Assert.True(SpinWait.SpinUntil(() => rig.Device.Counters["rx_filtered"] == 1, EchoWait), "the frame for another MAC was not filtered");
        EchoEach(rig, [60, 1514]);
        Assert.Equal(1, rig.Device.Counters["rx_filtered"]);
        Assert.Equal(2, rig.Device.Counters["rx_frames"]);
    }

    [NetFact]
    public void The_control_queue_sets_promiscuous_mode_and_refuses_unknown_commands_with_an_error_ack()
    {
        using var rig = new NetRig("feat=all promisc 0");
        Assert.Equal(0, rig.RunToExit());
        Assert.Contains("promisc ack=0", rig.Console);
        Assert.Equal(1, rig.Device.Counters["ctrl_commands"]);
        Assert.Equal(0, rig.Device.Counters["ctrl_errors"]);
    }

    private static void EchoEach(NetRig rig, IEnumerable<int> sizes) => NetRig.EchoEach(rig.Socket, sizes, () => rig.Console);
}
