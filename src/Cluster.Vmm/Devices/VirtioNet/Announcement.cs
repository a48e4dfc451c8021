namespace Cluster.Vmm.Devices.VirtioNet;

/// <summary>
/// The frame a VMM sends for a guest that moved, so that switches learn the MAC's new port at once (QEMU's
/// qemu_announce_self): a broadcast RARP "reverse request" (ethertype 0x8035, opcode 3) with the MAC as sender and
/// target and no IP addresses, padded to the 60 bytes of a minimum frame.
/// </summary>
public static class Announcement
{
    /// <summary>Bytes of the frame (without the FCS).</summary>
    public const int FrameSize = 60;

    /// <summary>RARP's ethertype.</summary>
    public const ushort EtherTypeRarp = 0x8035;

    /// <summary>The RARP frame announcing <paramref name="mac"/>.</summary>
    public static byte[] Rarp(ReadOnlySpan<byte> mac)
    {
        if (mac.Length != 6) throw new ArgumentException("a MAC is 6 bytes", nameof(mac));
        var f = new byte[FrameSize];
        f.AsSpan(0, 6).Fill(0xff);
        mac.CopyTo(f.AsSpan(6));
        f[12] = EtherTypeRarp >> 8;
        f[13] = EtherTypeRarp & 0xff;
        f[14] = 0; f[15] = 1;        // hardware type: Ethernet
        f[16] = 0x08; f[17] = 0x00;  // protocol type: IPv4
        f[18] = 6; f[19] = 4;        // address lengths
        f[20] = 0; f[21] = 3;        // opcode: reverse request
        mac.CopyTo(f.AsSpan(22));    // sender MAC; sender IP 0.0.0.0
        mac.CopyTo(f.AsSpan(32));    // target MAC; target IP 0.0.0.0
        return f;
    }
}
