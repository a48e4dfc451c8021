using System.Buffers.Binary;

namespace Cluster.Vmm.Devices.VirtioNet;

/// <summary>
/// The receive filter the driver sets over the control queue (VIRTIO_NET_F_CTRL_RX): promiscuous and all-multicast
/// modes and the MAC tables (VIRTIO_NET_CTRL_MAC_TABLE_SET). A table longer than <see cref="TableEntries"/> lets every
/// address of its kind through, as QEMU's overflow does. Promiscuous after a reset (a driver without the control
/// queue receives everything). Pure state: decided by <see cref="Accepts"/>, saved with the device.
/// </summary>
public sealed class RxMode
{
    /// <summary>Entries kept per table.</summary>
    public const int TableEntries = 64;

    private readonly List<byte[]> _unicast = [], _multicast = [];

    /// <summary>Receive every frame.</summary>
    public bool Promiscuous { get; set; } = true;

    /// <summary>Receive every multicast frame.</summary>
    public bool AllMulticast { get; set; }

    private bool _unicastOverflow, _multicastOverflow;

    /// <summary>Back to the state after a reset.</summary>
    public void Reset()
    {
        Promiscuous = true;
        AllMulticast = false;
        _unicast.Clear();
        _multicast.Clear();
        _unicastOverflow = _multicastOverflow = false;
    }

    /// <summary>Whether a frame to <paramref name="destination"/> reaches a driver whose address is <paramref name="mac"/>.</summary>
    public bool Accepts(ReadOnlySpan<byte> destination, ReadOnlySpan<byte> mac)
    {
        if (Promiscuous) return true;
        if (destination.IndexOfAnyExcept((byte)0xff) < 0) return true; // broadcast
        if ((destination[0] & 1) != 0) return AllMulticast || _multicastOverflow || Contains(_multicast, destination);
        return destination.SequenceEqual(mac) || _unicastOverflow || Contains(_unicast, destination);
    }

    private static bool Contains(List<byte[]> table, ReadOnlySpan<byte> mac)
    {
        foreach (var m in table) if (mac.SequenceEqual(m)) return true;
        return false;
    }

    /// <summary>Loads a MAC_TABLE_SET command's data: le32 count then count MACs, unicast then multicast. False (nothing
    /// changed) when the data is not exactly two such tables.</summary>
    public bool SetTables(ReadOnlySpan<byte> data)
    {
        if (!ReadTable(data, out var uni, out var uniOverflow, out int used)) return false;
        if (!ReadTable(data[used..], out var multi, out var multiOverflow, out int used2) || used + used2 != data.Length) return false;
        _unicast.Clear();
        _unicast.AddRange(uni);
        _multicast.Clear();
        _multicast.AddRange(multi);
        _unicastOverflow = uniOverflow;
        _multicastOverflow = multiOverflow;
        return true;
    }

    private static bool ReadTable(ReadOnlySpan<byte> data, out List<byte[]> table, out bool overflow, out int used)
    {
        table = [];
        overflow = false;
        used = 0;
        if (data.Length < 4) return false;
        uint n = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (n > (uint)(data.Length - 4) / 6) return false;
        used = 4 + (int)n * 6;
        overflow = n > TableEntries;
        if (!overflow)
            for (int i = 0; i < n; i++) table.Add(data.Slice(4 + 6 * i, 6).ToArray());
        return true;
    }

    /// <summary>The state as bytes.</summary>
    public void Save(BinaryWriter w)
    {
        w.Write(Promiscuous);
        w.Write(AllMulticast);
        w.Write(_unicastOverflow);
        w.Write(_multicastOverflow);
        foreach (var table in new[] { _unicast, _multicast })
        {
            w.Write(table.Count);
            foreach (var m in table) w.Write(m);
        }
    }

    /// <summary>Loads what <see cref="Save"/> wrote.</summary>
    /// <exception cref="VmmException">a table longer than <see cref="TableEntries"/>.</exception>
    public void Load(BinaryReader r)
    {
        Promiscuous = r.ReadBoolean();
        AllMulticast = r.ReadBoolean();
        _unicastOverflow = r.ReadBoolean();
        _multicastOverflow = r.ReadBoolean();
        foreach (var table in new[] { _unicast, _multicast })
        {
            int n = r.ReadInt32();
            if (n < 0 || n > TableEntries) throw new VmmException($"a MAC table of {n} entries in the state", "virtio-net-restore");
            table.Clear();
            for (int i = 0; i < n; i++)
            {
                var m = r.ReadBytes(6);
                if (m.Length != 6) throw new EndOfStreamException();
                table.Add(m);
            }
        }
    }
}
