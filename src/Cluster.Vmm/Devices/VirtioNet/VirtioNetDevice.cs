using System.Buffers;
using System.Buffers.Binary;
using Cluster.Vmm.Devices.Virtio;
using Cluster.Vmm.Native;
using static Cluster.Vmm.Devices.Virtio.VirtioConstants;
using static Cluster.Vmm.Devices.VirtioNet.VirtioNetFeatures;

namespace Cluster.Vmm.Devices.VirtioNet;

/// <summary>
/// A virtio-net device (one queue pair and a control queue) over a <see cref="TapDevice"/>. Offers VERSION_1, indirect
/// descriptors, event index, MAC, MTU, STATUS, MRG_RXBUF, CTRL_VQ, CTRL_RX and GUEST_ANNOUNCE; no checksum or
/// segmentation offload (the tap is told the same, so every frame is whole and checksummed).
/// <para>Receive runs on a thread of its own ("NAME-rx") that polls the tap and an eventfd the driver's
/// notifications kick: frames read from the tap wait in a backlog of at most <see cref="BacklogFrames"/> frames until
/// the driver gives buffers (a frame spans several buffers with MRG_RXBUF); a frame that finds the backlog full is
/// dropped and counted (<c>rx_dropped</c>), so a flood never grows memory. Transmit and the control queue run on the
/// base's I/O threads. A transmitted frame that is too large (over MTU + 18), too short or carries offload flags the
/// driver did not negotiate is dropped and counted; a chain that breaks the ring's rules (buffers of the wrong
/// direction, no room for the header, a buffer outside memory) breaks the device (DEVICE_NEEDS_RESET), never the host.</para>
/// <para>After a restore (a migration's target) the device announces the guest when it resumes: it sends a RARP for
/// the MAC on the tap, and where the driver accepted GUEST_ANNOUNCE sets VIRTIO_NET_S_ANNOUNCE with a config interrupt,
/// so that the guest sends its own gratuitous ARPs and acknowledges (VIRTIO_NET_CTRL_ANNOUNCE_ACK).</para>
/// </summary>
public sealed partial class VirtioNetDevice : VirtioDevice
{
    /// <summary>Frames kept for a driver that has no receive buffer free.</summary>
    public const int BacklogFrames = 256;

    /// <summary>How many times (and how far apart) the RARP is sent after a restore.</summary>
    public const int AnnounceRounds = 3, AnnounceGapMs = 100;

    private const int ConfigBytes = 12;
    private const int StateFormat = 1;
    private const int ReadBufferBytes = 65536 + HeaderSize;
    private const int MaxCommandBytes = 8192;

    private readonly TapDevice _tap;
    private readonly TapPoller _poller;
    private readonly byte[] _mac;
    private readonly int _mtu;
    private readonly object _rxGate = new();
    private readonly Queue<(byte[] Frame, int Length)> _backlog = new();
    private readonly RxMode _rxMode = new();
    private readonly Thread _rxThread;
    private Virtqueue? _rx;
    // True from the start: the machine's first Resume (its Start, or the resume of a migrated guest, whose restore sets it
    // again) announces the MAC where the guest now runs. A cold boot after a failover needs it as much as a migration:
    // the bridges still send the MAC's frames towards the host that died until the guest itself transmits.
    private bool _mergeable, _rxBroken, _paused, _stopping, _announcePending = true;
    private volatile bool _linkUp = true;
    private volatile ushort _announceStatus;
    private Timer? _announceTimer;
    private int _announcesLeft;
    private readonly VirtioNetCounters _counters = new();

    /// <summary>A device named <paramref name="name"/> with address <paramref name="mac"/> and MTU <paramref name="mtu"/>
    /// over <paramref name="tap"/> (owned by the device from now on); its receive thread starts here.</summary>
    public VirtioNetDevice(string name, TapDevice tap, ReadOnlySpan<byte> mac, int mtu) : base(name)
    {
        _tap = tap ?? throw new ArgumentNullException(nameof(tap));
        if (mac.Length != 6 || (mac[0] & 1) != 0) throw new VmmException($"{name}: not a unicast MAC", "virtio-net");
        if (mtu is < 68 or > 65535 - EthernetHeader - VlanTag) throw new VmmException($"{name}: MTU {mtu} out of range", "virtio-net");
        _mac = mac.ToArray();
        _mtu = mtu;
        _poller = new TapPoller();
        _rxThread = new Thread(RxLoop) { IsBackground = true, Name = $"{name}-rx" };
        _rxThread.Start();
    }

    /// <summary>The tap behind the device.</summary>
    public TapDevice Tap => _tap;

    /// <summary>The guest's address.</summary>
    public ReadOnlySpan<byte> Mac => _mac;

    /// <summary>The MTU offered.</summary>
    public int Mtu => _mtu;

    /// <summary>The largest frame passed either way: the MTU, an Ethernet header and a VLAN tag.</summary>
    public int MaxFrameBytes => _mtu + EthernetHeader + VlanTag;

    /// <inheritdoc />
    public override int DeviceType => DeviceTypeNet;

    /// <inheritdoc />
    public override int QueueCount => 3;

    /// <inheritdoc />
    public override int ConfigSize => ConfigBytes;

    /// <inheritdoc />
    public override ulong DeviceFeatures =>
        Bit(FeatureVersion1) | Bit(FeatureIndirectDesc) | Bit(FeatureEventIdx)
        | Bit(VirtioNetFeatures.Mtu) | Bit(VirtioNetFeatures.Mac) | Bit(MrgRxBuf) | Bit(Status)
        | Bit(CtrlVq) | Bit(CtrlRx) | Bit(GuestAnnounce);

    /// <summary>The link as the configuration's status reports it; a change raises a config interrupt.</summary>
    public bool LinkUp
    {
        get => _linkUp;
        set
        {
            if (_linkUp == value) return;
            _linkUp = value;
            RaiseConfigChange();
        }
    }

    /// <summary>Whether VIRTIO_NET_S_ANNOUNCE is set (the guest was asked to announce and has not acknowledged).</summary>
    public bool AnnouncePending => (_announceStatus & StatusAnnounce) != 0;

    /// <inheritdoc />
    public override void ReadConfig(int offset, Span<byte> data)
    {
        Span<byte> c = stackalloc byte[ConfigBytes];
        _mac.CopyTo(c);
        BinaryPrimitives.WriteUInt16LittleEndian(c[6..], (ushort)((_linkUp ? StatusLinkUp : 0) | _announceStatus));
        BinaryPrimitives.WriteUInt16LittleEndian(c[8..], 1); // max_virtqueue_pairs
        BinaryPrimitives.WriteUInt16LittleEndian(c[10..], (ushort)_mtu);
        if (offset < 0 || offset >= ConfigBytes) { data.Clear(); return; }
        int n = Math.Min(data.Length, ConfigBytes - offset);
        c.Slice(offset, n).CopyTo(data);
        data[n..].Clear();
    }

    /// <inheritdoc />
    protected override IEnumerable<KeyValuePair<string, long>> DeviceCounters() => _counters.All();

    /// <summary>The frames received and sent so far and their bytes, for the machine's <see cref="Devices.IoCounters"/>.</summary>
    public IoCounters IoCounters => new(0, 0, 0, 0,
        NetRxBytes: _counters.Read(NetCounter.RxBytes), NetTxBytes: _counters.Read(NetCounter.TxBytes),
        NetRxPackets: _counters.Read(NetCounter.RxFrames), NetTxPackets: _counters.Read(NetCounter.TxFrames));

    /// <inheritdoc />
    protected override bool ServedByDevice(int queue) => queue == RxQueue;

    /// <inheritdoc />
    protected override void OnDeviceQueueNotified(int queue) => _poller.Kick();

    /// <inheritdoc />
    protected override void OnQueuesStarted(IReadOnlyList<Virtqueue> queues)
    {
        lock (_rxGate)
        {
            _rx = queues.FirstOrDefault(q => q.Index == RxQueue);
            _mergeable = (NegotiatedFeatures & Bit(MrgRxBuf)) != 0;
            _rxBroken = false;
        }
        _poller.Kick();
    }

    /// <inheritdoc />
    protected override void OnReset()
    {
        lock (_rxGate)
        {
            _rx = null;
            _rxBroken = false;
            ClearBacklog();
            _rxMode.Reset();
            _announceStatus = 0;
        }
    }

    /// <inheritdoc />
    protected override void OnBroken()
    {
        // Any queue broken stops the device until the driver resets it: frames are dropped (counted), not kept.
        lock (_rxGate)
        {
            _rxBroken = true;
            ClearBacklog();
        }
    }

    /// <inheritdoc />
    protected override void OnPause()
    {
        // Every use of the receive queue happens under the gate: once it is held, no frame is being delivered.
        lock (_rxGate) _paused = true;
    }

    /// <inheritdoc />
    protected override void OnResume()
    {
        bool announce;
        lock (_rxGate)
        {
            _paused = false;
            announce = _announcePending;
            _announcePending = false;
        }
        _poller.Kick();
        if (announce) Announce();
    }

    /// <summary>Announces the guest at its (new) place (after a migration, and when the machine starts): a RARP on the tap now and <see cref="AnnounceRounds"/> - 1 more
    /// times, and the guest asked to announce itself where its driver can (GUEST_ANNOUNCE, status DRIVER_OK).</summary>
    public void Announce()
    {
        // The first RARP now, before the guest hears of it; the others from a timer.
        lock (_rxGate)
        {
            if (_stopping) return;
            _announcesLeft = AnnounceRounds;
            _announceTimer ??= new Timer(_ => SendRarp());
        }
        SendRarp();
        lock (_rxGate) if (!_stopping) _announceTimer.Change(AnnounceGapMs, AnnounceGapMs);
        if ((NegotiatedFeatures & Bit(GuestAnnounce)) != 0 && (NegotiatedFeatures & Bit(CtrlVq)) != 0)
        {
            _announceStatus = StatusAnnounce;
            RaiseConfigChange();
        }
    }

    private void SendRarp()
    {
        var frame = new byte[HeaderSize + Announcement.FrameSize];
        Announcement.Rarp(_mac).CopyTo(frame, HeaderSize);
        // Under the gate: disposal closes the tap only after it set _stopping under the same gate.
        lock (_rxGate)
        {
            if (_stopping || _announcesLeft <= 0) return;
            if (--_announcesLeft == 0) _announceTimer?.Change(Timeout.Infinite, Timeout.Infinite);
            // The VMM's own frame, not the guest's: a failed write (a tap that is down) is not the guest's drop.
            if (_tap.Write(frame) == 0) _counters.Add(NetCounter.Announces);
        }
    }

    /// <inheritdoc />
    protected override uint Process(int queue, DescriptorChain chain) => queue switch
    {
        TxQueue => Transmit(chain),
        CtrlQueue => Control(chain),
        _ => throw new VirtioQueueException($"queue {queue}: no such queue"),
    };

    private uint Transmit(DescriptorChain chain)
    {
        if (chain.WritableLength != 0) throw new VirtioQueueException($"queue {TxQueue}: a transmit chain with {chain.WritableLength} device-writable bytes");
        ulong length = chain.ReadableLength;
        if (length < HeaderSize) throw new VirtioQueueException($"queue {TxQueue}: a transmit chain of {length} bytes has no room for the header");
        ulong frame = length - HeaderSize;
        if (frame > (ulong)MaxFrameBytes)
        {
            _counters.Add(NetCounter.TxOversize);
            return 0;
        }
        if (frame < EthernetHeader)
        {
            _counters.Add(NetCounter.TxMalformed);
            return 0;
        }
        var buffer = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            var bytes = buffer.AsSpan(0, (int)length);
            chain.Read(Memory, 0, bytes);
            // flags and gso_type: neither checksum nor segmentation offload was offered, so both must be 0.
            if (bytes[0] != 0 || bytes[1] != 0)
            {
                _counters.Add(NetCounter.TxMalformed);
                return 0;
            }
            bytes[..HeaderSize].Clear();
            if (_tap.Write(bytes) != 0)
            {
                _counters.Add(NetCounter.TxDropped);
                return 0;
            }
            _counters.Add(NetCounter.TxFrames);
            _counters.Add(NetCounter.TxBytes, (long)frame);
            return 0;
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    private uint Control(DescriptorChain chain)
    {
        ulong readable = chain.ReadableLength, writable = chain.WritableLength;
        if (readable < 2 || writable < 1) throw new VirtioQueueException($"queue {CtrlQueue}: a control chain of {readable} readable and {writable} writable bytes");
        _counters.Add(NetCounter.CtrlCommands);
        byte ack = CtrlErr;
        if (readable <= MaxCommandBytes)
        {
            var command = new byte[readable];
            chain.Read(Memory, 0, command);
            ack = Command(command[0], command[1], command.AsSpan(2));
        }
        if (ack != CtrlOk) _counters.Add(NetCounter.CtrlErrors);
        chain.Write(Memory, 0, [ack]);
        CountDma(1);
        return 1;
    }

    private byte Command(byte cls, byte cmd, ReadOnlySpan<byte> data)
    {
        bool ctrlRx = (NegotiatedFeatures & Bit(CtrlRx)) != 0;
        lock (_rxGate)
        {
            switch (cls, cmd)
            {
                case (CtrlClassRx, CtrlRxPromisc) when ctrlRx && data.Length == 1:
                    _rxMode.Promiscuous = data[0] != 0;
                    return CtrlOk;
                case (CtrlClassRx, CtrlRxAllMulti) when ctrlRx && data.Length == 1:
                    _rxMode.AllMulticast = data[0] != 0;
                    return CtrlOk;
                case (CtrlClassMac, CtrlMacTableSet) when ctrlRx:
                    return _rxMode.SetTables(data) ? CtrlOk : CtrlErr;
                case (CtrlClassAnnounce, CtrlAnnounceAck) when (NegotiatedFeatures & Bit(GuestAnnounce)) != 0 && data.Length == 0:
                    _announceStatus = 0;
                    return CtrlOk;
                default:
                    return CtrlErr;
            }
        }
    }

    /// <inheritdoc />
    protected internal override byte[] SaveDeviceState()
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write(StateFormat);
        w.Write(_mac);
        w.Write(_mtu);
        w.Write(_announceStatus);
        lock (_rxGate) _rxMode.Save(w);
        w.Flush();
        return ms.ToArray();
    }

    /// <inheritdoc />
    protected internal override void RestoreDeviceState(ReadOnlySpan<byte> state)
    {
        using var r = new BinaryReader(new MemoryStream(state.ToArray(), writable: false));
        try
        {
            int format = r.ReadInt32();
            if (format != StateFormat) throw new VmmException($"{Name}: net state format {format}, this VMM reads {StateFormat}", "virtio-net-restore");
            var mac = r.ReadBytes(6);
            int mtu = r.ReadInt32();
            if (!mac.AsSpan().SequenceEqual(_mac))
                throw new VmmException($"{Name}: the source's NIC has MAC {Machine.NicConfig.FormatMac(mac)}, this one {Machine.NicConfig.FormatMac(_mac)}", "virtio-net-restore");
            if (mtu != _mtu) throw new VmmException($"{Name}: the source's NIC has MTU {mtu}, this one {_mtu}", "virtio-net-restore");
            _announceStatus = r.ReadUInt16();
            lock (_rxGate)
            {
                _rxMode.Load(r);
                _announcePending = true;
            }
            if (r.BaseStream.Position != r.BaseStream.Length) throw new VmmException($"{Name}: trailing bytes in the net state", "virtio-net-restore");
        }
        catch (EndOfStreamException e)
        {
            throw new VmmException($"{Name}: the net state is truncated", "virtio-net-restore", inner: e);
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        lock (_rxGate)
        {
            if (_stopping) return;
            _stopping = true;
        }
        _poller.Kick();
        _rxThread.Join();
        _announceTimer?.Dispose();
        base.Dispose();
        lock (_rxGate) ClearBacklog();
        _poller.Dispose();
        _tap.Dispose();
    }
}
