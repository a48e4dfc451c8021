using System.Buffers.Binary;
using Cluster.Vmm.Devices.VirtioNet;
using Xunit;

namespace Cluster.Vmm.Tests.Devices.VirtioNet;

public sealed class RxModeTests
{
    private static readonly byte[] Mine = [0x52, 0x54, 0, 1, 2, 3], Other = [0x52, 0x54, 0, 9, 9, 9],
        Broadcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], Multicast = [0x01, 0x00, 0x5e, 0, 0, 1], Multicast2 = [0x33, 0x33, 0, 0, 0, 1];

    [Fact]
    public void After_a_reset_every_frame_is_accepted()
    {
        var m = new RxMode();
        Assert.True(m.Accepts(Other, Mine));
        Assert.True(m.Accepts(Multicast, Mine));
    }

    [Fact]
    public void Without_promiscuous_mode_only_the_own_mac_broadcast_and_listed_addresses_pass()
    {
        var m = new RxMode { Promiscuous = false };
        Assert.True(m.SetTables(Tables([Other], [Multicast])));
        Assert.True(m.Accepts(Mine, Mine));
        Assert.True(m.Accepts(Broadcast, Mine));
        Assert.True(m.Accepts(Other, Mine));
        Assert.True(m.Accepts(Multicast, Mine));
        Assert.False(m.Accepts(Multicast2, Mine));
        Assert.False(m.Accepts([0x52, 0x54, 0, 7, 7, 7], Mine));
        m.AllMulticast = true;
        Assert.True(m.Accepts(Multicast2, Mine));
    }

    [Fact]
    public void A_table_longer_than_the_device_keeps_lets_its_kind_through()
    {
        var m = new RxMode { Promiscuous = false };
        var many = Enumerable.Range(0, RxMode.TableEntries + 1).Select(i => new byte[] { 0x33, 0x33, 0, 0, 1, (byte)i }).ToArray();
        Assert.True(m.SetTables(Tables([], many)));
        Assert.True(m.Accepts(Multicast, Mine));
        Assert.False(m.Accepts(Other, Mine));
    }

    [Theory]
    [InlineData(0)]  // nothing
    [InlineData(3)]  // a count cut short
    [InlineData(-1)] // one byte more than the two tables
    public void Malformed_tables_are_refused_and_change_nothing(int shape)
    {
        var m = new RxMode { Promiscuous = false };
        var good = Tables([Other], []);
        byte[] data = shape switch
        {
            0 => [],
            3 => good[..3],
            _ => [.. good, 0],
        };
        Assert.False(m.SetTables(data));
        Assert.False(m.Accepts(Other, Mine));
    }

    [Fact]
    public void The_state_survives_save_and_load()
    {
        var m = new RxMode { Promiscuous = false, AllMulticast = true };
        Assert.True(m.SetTables(Tables([Other], [Multicast])));
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) m.Save(w);
        ms.Position = 0;
        var copy = new RxMode();
        copy.Load(new BinaryReader(ms));
        Assert.False(copy.Promiscuous);
        Assert.True(copy.AllMulticast);
        Assert.True(copy.Accepts(Other, Mine));
        Assert.False(copy.Accepts([0x52, 0x54, 0, 7, 7, 7], Mine));
    }

    private static byte[] Tables(byte[][] unicast, byte[][] multicast)
    {
        var data = new List<byte>();
        foreach (var table in new[] { unicast, multicast })
        {
            var n = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(n, (uint)table.Length);
            data.AddRange(n);
            foreach (var mac in table) data.AddRange(mac);
        }
        return [.. data];
    }
}
