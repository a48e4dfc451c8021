namespace Cluster.Vmm.Devices.VirtioNet;

/// <summary>The numbers of virtio-net (virtio 1.x, 5.1) this device uses.</summary>
public static class VirtioNetFeatures
{
    /// <summary>Feature bit numbers.</summary>
    public const int Mtu = 3, Mac = 5, MrgRxBuf = 15, Status = 16, CtrlVq = 17, CtrlRx = 18, GuestAnnounce = 21;

    /// <summary>The configuration's status bits.</summary>
    public const ushort StatusLinkUp = 1, StatusAnnounce = 2;

    /// <summary>Bytes of struct virtio_net_hdr under VERSION_1 (num_buffers always present).</summary>
    public const int HeaderSize = 12;

    /// <summary>The offset of num_buffers in the header.</summary>
    public const int NumBuffersOffset = 10;

    /// <summary>Bytes of an Ethernet header, and what an 802.1Q tag adds.</summary>
    public const int EthernetHeader = 14, VlanTag = 4;

    /// <summary>Queue indices: receive, transmit, control (one queue pair, no VIRTIO_NET_F_MQ).</summary>
    public const int RxQueue = 0, TxQueue = 1, CtrlQueue = 2;

    /// <summary>Control classes and commands (5.1.6.5).</summary>
    public const byte CtrlClassRx = 0, CtrlRxPromisc = 0, CtrlRxAllMulti = 1,
        CtrlClassMac = 1, CtrlMacTableSet = 0,
        CtrlClassAnnounce = 3, CtrlAnnounceAck = 0;

    /// <summary>The control queue's ack byte.</summary>
    public const byte CtrlOk = 0, CtrlErr = 1;
}
