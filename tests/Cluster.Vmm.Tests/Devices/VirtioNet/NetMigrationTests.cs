using Cluster.Vmm.Emulated;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Cluster.Vmm.Tests.Migration;
using Xunit;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Vmm.Tests.Devices.VirtioNet;

/// <summary>
/// Live migration of the echo guest between two machines on the emulator, each NIC on a tap of its own (as two hosts
/// have): on the target the device keeps the MAC and goes on echoing, the VMM sends a RARP for the MAC on the target's
/// tap, and the guest, asked through VIRTIO_NET_S_ANNOUNCE, announces itself and acknowledges over the control queue.
/// </summary>
public sealed class NetMigrationTests : IDisposable
{
    private readonly string _tapA = NetRig.NewTapName(), _tapB = NetRig.NewTapName();

    public void Dispose()
    {
        foreach (var tap in new[] { _tapA, _tapB })
            if (NetRig.Exists(tap)) NetRig.Ip($"link del {tap}");
    }

    [NetFact]
    public void A_migrated_echo_guest_keeps_its_mac_is_announced_on_the_target_tap_and_echoes_there()
    {
        var config = new MachineConfig
        {
            MemoryBytes = 32UL << 20, Image = new BuiltInGuestImage("net"), Args = ["feat=all", "rxbuf=512", "echo", "0"],
            Nics = [new NicConfig(NetRig.GuestMac, _tapA)],
        };
        using var h = new MigrationHarness(BackendKind.Emulated, BackendKind.Emulated, config);
        NetRig.ConfigureTap(_tapA, 1600);
        using var a = new PacketSocket(_tapA);
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("echo ready"), "the guest to post its buffers");
        NetRig.EchoEach(a, [60, 1000, 1514], () => h.SourceConsole.Text);
        var targetHypervisor = new EmulatedHypervisor();

        PacketSocket? b = null;
        try
        {
            var (source, target) = h.Migrate(h.Source, targetOptions: new MigrationTargetOptions
            {
                CreateMachine = c =>
                {
                    // The target host has its own tap for the NIC; the MAC travels with the device's state.
                    var m = VmMachine.Create(targetHypervisor, c with { Nics = [new NicConfig(NetRig.GuestMac, _tapB)] });
                    NetRig.ConfigureTap(_tapB, 1600);
                    b = new PacketSocket(_tapB);
                    return m;
                },
            });
            Assert.True(source.Succeeded, source.FailureReason);
            Assert.True(target.Succeeded, target.FailureReason);
            Assert.NotNull(b);

            // The VMM's RARP for the guest's MAC and the guest's own announcement, on the target's tap (in either order:
            // the guest may answer before the VMM's frame is read here).
            byte[]? rarp = null, announce = null;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while ((rarp is null || announce is null) && DateTime.UtcNow < deadline)
            {
                var f = b.Receive(deadline - DateTime.UtcNow);
                if (f is null || f.Length < 22) continue;
                if (f[12] == 0x80 && f[13] == 0x35) rarp ??= f;
                else if (f[12] == 0x88 && f[13] == 0xb5 && System.Text.Encoding.ASCII.GetString(f, 14, 8) == "ANNOUNCE") announce ??= f;
            }
            Assert.True(rarp is not null, $"no RARP on the target's tap; console: {h.TargetConsole!.Text}");
            Assert.Equal(NicConfig.ParseMac(NetRig.GuestMac), rarp.AsSpan(6, 6).ToArray());
            Assert.True(rarp.AsSpan(0, 6).IndexOfAnyExcept((byte)0xff) < 0, "the RARP is not broadcast");
            Assert.Equal(3, rarp[21]); // reverse request
            Assert.True(announce is not null, $"the guest did not announce itself; console: {h.TargetConsole!.Text}");
            Assert.Equal(NicConfig.ParseMac(NetRig.GuestMac), announce.AsSpan(22, 6).ToArray());
            MigrationHarness.WaitUntil(() => h.TargetConsole!.Text.Contains("announce acked ack=0"), "the guest to acknowledge the announce");
            var device = h.Target!.Devices.Nics.Single();
            Assert.False(device.AnnouncePending);
            Assert.True(device.Counters["announces"] >= 1);
            Assert.Equal(NetRig.GuestMac, NicConfig.FormatMac(device.Mac));

            // The same guest echoes through the target's tap, from the same MAC.
            NetRig.EchoEach(b, [60, 1000, 1514, 1518], () => h.TargetConsole!.Text);
        }
        finally
        {
            b?.Dispose();
            h.Target?.Dispose();
            targetHypervisor.Dispose();
        }
    }

    [NetFact]
    public void A_target_whose_nic_has_another_mac_refuses_the_state_and_the_guest_runs_on_at_the_source()
    {
        var config = new MachineConfig
        {
            MemoryBytes = 32UL << 20, Image = new BuiltInGuestImage("net"), Args = ["feat=all", "echo", "0"],
            Nics = [new NicConfig(NetRig.GuestMac, _tapA)],
        };
        using var h = new MigrationHarness(BackendKind.Emulated, BackendKind.Emulated, config);
        NetRig.ConfigureTap(_tapA, 1600);
        using var a = new PacketSocket(_tapA);
        MigrationHarness.WaitUntil(() => h.SourceConsole.Text.Contains("echo ready"), "the guest to post its buffers");
        var (source, target) = h.Migrate(h.Source, targetOptions: new MigrationTargetOptions
        {
            CreateMachine = c => VmMachine.Create(new EmulatedHypervisor(), c with { Nics = [new NicConfig("52:54:00:00:00:99", _tapB)] }),
        });
        Assert.False(source.Succeeded);
        Assert.False(target.Succeeded);
        Assert.Contains("MAC", target.FailureReason);
        NetRig.EchoEach(a, [60, 1514], () => h.SourceConsole.Text);
    }
}
