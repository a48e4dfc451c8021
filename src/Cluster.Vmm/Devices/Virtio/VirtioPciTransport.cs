using System.Buffers.Binary;
using Cluster.Vmm.Devices.Pci;
using Cluster.Vmm.Hypervisor;
using static Cluster.Vmm.Devices.Virtio.VirtioConstants;

namespace Cluster.Vmm.Devices.Virtio;

/// <summary>
/// The modern virtio-pci transport (virtio 1.x, 4.1) of one <see cref="VirtioDevice"/>: a PCI
/// function with vendor 0x1af4, device 0x1040 + type, and one 64-bit memory BAR holding the common
/// configuration, the ISR, the device configuration, the notification area and, where the VM can
/// deliver MSIs, the MSI-X table and pending bits; vendor capabilities point the driver at each.
/// Interrupts go through MSI-X when the driver enabled it, else through INTx pin A (level: raised
/// with an ISR bit, lowered when the driver reads the ISR). The common configuration drives the
/// device's life: feature negotiation (FEATURES_OK only for a subset of what is offered that includes
/// VERSION_1), queue programming, DRIVER_OK (queues checked, I/O threads started), reset (status 0).
/// </summary>
public sealed class VirtioPciTransport : PciFunction, ISnapshottable, IPausable, IDeviceCounters, IDisposable
{
    /// <summary>Offsets inside BAR 0.</summary>
    public const uint CommonOffset = 0x0000, IsrOffset = 0x1000, DeviceConfigOffset = 0x2000, NotifyOffset = 0x3000,
        MsixTableOffset = 0x4000, MsixPbaOffset = 0x6000, BarSize = 0x8000;

    /// <summary>Bytes between two queues' notification addresses.</summary>
    public const uint NotifyMultiplier = 4;

    private const int CommonSize = 0x38;
    private const byte CapVendor = 0x09, CfgCommon = 1, CfgNotify = 2, CfgIsr = 3, CfgDevice = 4;
    private const int CurrentStateVersion = 1;

    private readonly object _gate = new();
    private readonly VirtioDevice _device;
    private readonly Virtqueue[] _queues;
    private readonly MsixTable? _msix;
    private IInterruptLine? _intx;
    private uint _deviceFeatureSelect, _driverFeatureSelect;
    private ulong _driverFeatures;
    private byte _status, _generation, _isr;
    private ushort _queueSelect, _configMsixVector = NoVector;
    private string? _resetReason;

    /// <summary>A transport for <paramref name="device"/> in VM <paramref name="vm"/>; MSI-X is offered
    /// when the VM delivers MSIs.</summary>
    public VirtioPciTransport(IVm vm, VirtioDevice device)
        : base(new PciConfigSpace(PciVendor, (ushort)(PciModernDeviceBase + device.DeviceType), ClassOf(device.DeviceType), 1, PciVendor, 0x40))
    {
        _device = device;
        device.Attach(vm.Memory);
        device.InterruptQueue = RaiseQueueInterrupt;
        device.NeedsReset = OnNeedsReset;
        device.ConfigChanged = OnConfigChanged;
        _queues = Enumerable.Range(0, device.QueueCount).Select(i => new Virtqueue(vm.Memory, i, device.MaxQueueSize)).ToArray();
        if (device.ConfigSize > 0x1000) throw new VmmException($"{device.Name}: a device configuration of {device.ConfigSize} bytes does not fit", "virtio-pci");
        Config.AddBar(new PciBar(0, BarSize, PciBarKind.Memory64));
        AddVirtioCap(CfgCommon, CommonOffset, CommonSize);
        AddVirtioCap(CfgNotify, NotifyOffset, (uint)_queues.Length * NotifyMultiplier, NotifyMultiplier);
        AddVirtioCap(CfgIsr, IsrOffset, 4);
        if (device.ConfigSize > 0) AddVirtioCap(CfgDevice, DeviceConfigOffset, (uint)device.ConfigSize);
        if (vm.SupportsMsi) _msix = new MsixTable(vm, Config, _queues.Length + 1, 0, MsixTableOffset, MsixPbaOffset);
        // INTx disable (command bit 10) and MSI-X enable take the pin away from a pending ISR, and give it back.
        Config.Written += (_, _) => SyncIntx();
    }

    private static uint ClassOf(int type) => type switch
    {
        DeviceTypeBlock => 0x01_80_00,
        DeviceTypeNet => 0x02_00_00,
        _ => 0xff_00_00,
    };

    /// <inheritdoc />
    public override string Name => _device.Name;

    /// <summary>The device behind the transport.</summary>
    public VirtioDevice Device => _device;

    /// <summary>The device status register.</summary>
    public byte Status { get { lock (_gate) return _status; } }

    /// <summary>Why the device asked for a reset, if it did.</summary>
    public string? NeedsResetReason { get { lock (_gate) return _resetReason; } }

    /// <inheritdoc />
    public override bool UsesIntx => true;

    /// <inheritdoc />
    public override void AttachIntx(IInterruptLine line) => _intx = line;

    /// <inheritdoc />
    public int StateVersion => CurrentStateVersion;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, long> Counters
    {
        get
        {
            var c = new Dictionary<string, long>(_device.Counters);
            if (_msix is not null) c["msix_delivered"] = _msix.Delivered;
            return c;
        }
    }

    private void AddVirtioCap(byte type, uint offset, uint length, uint? notifyMultiplier = null)
    {
        Span<byte> cap = stackalloc byte[notifyMultiplier is null ? 16 : 20];
        cap[0] = CapVendor;
        cap[2] = (byte)cap.Length;
        cap[3] = type;
        cap[4] = 0; // BAR 0
        BinaryPrimitives.WriteUInt32LittleEndian(cap[8..], offset);
        BinaryPrimitives.WriteUInt32LittleEndian(cap[12..], length);
        if (notifyMultiplier is uint m) BinaryPrimitives.WriteUInt32LittleEndian(cap[16..], m);
        Config.AddCapability(cap);
    }

    /// <inheritdoc />
    public override ulong ReadBar(int bar, ulong offset, int size)
    {
        if (bar != 0) return IoBus.AllOnes(size);
        if (offset < CommonSize) return ReadCommon((int)offset, size);
        if (offset >= IsrOffset && offset < IsrOffset + 4) return ReadIsr();
        if (offset >= DeviceConfigOffset && offset < DeviceConfigOffset + (ulong)_device.ConfigSize)
        {
            int o = (int)(offset - DeviceConfigOffset);
            Span<byte> b = stackalloc byte[8];
            b.Clear();
            int n = Math.Min(size, _device.ConfigSize - o);
            _device.ReadConfig(o, b[..n]);
            return BinaryPrimitives.ReadUInt64LittleEndian(b) & IoBus.AllOnes(size);
        }
        if (_msix is not null && offset >= MsixTableOffset && offset < MsixPbaOffset) return _msix.ReadTable(offset - MsixTableOffset, size);
        if (_msix is not null && offset >= MsixPbaOffset) return _msix.ReadPba(offset - MsixPbaOffset, size);
        return 0;
    }

    /// <inheritdoc />
    public override void WriteBar(int bar, ulong offset, int size, ulong value)
    {
        if (bar != 0) return;
        if (offset < CommonSize) WriteCommon((int)offset, size, value);
        else if (offset >= NotifyOffset && offset < NotifyOffset + (ulong)_queues.Length * NotifyMultiplier)
        {
            bool live;
            lock (_gate) live = (_status & StatusDriverOk) != 0 && (_status & StatusNeedsReset) == 0;
            if (live) _device.Notify((int)((offset - NotifyOffset) / NotifyMultiplier));
        }
        else if (offset >= DeviceConfigOffset && offset < DeviceConfigOffset + (ulong)_device.ConfigSize)
        {
            int o = (int)(offset - DeviceConfigOffset);
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(b, value);
            _device.WriteConfig(o, b[..Math.Min(size, _device.ConfigSize - o)]);
        }
        else if (_msix is not null && offset >= MsixTableOffset && offset < MsixPbaOffset) _msix.WriteTable(offset - MsixTableOffset, size, value);
    }

    private ulong ReadCommon(int offset, int size)
    {
        Span<byte> image = stackalloc byte[CommonSize + 8];
        image.Clear();
        lock (_gate)
        {
            var q = _queues.Length > _queueSelect ? _queues[_queueSelect] : null;
            BinaryPrimitives.WriteUInt32LittleEndian(image[0x00..], _deviceFeatureSelect);
            BinaryPrimitives.WriteUInt32LittleEndian(image[0x04..], _deviceFeatureSelect < 2 ? (uint)(_device.DeviceFeatures >> (int)(32 * _deviceFeatureSelect)) : 0);
            BinaryPrimitives.WriteUInt32LittleEndian(image[0x08..], _driverFeatureSelect);
            BinaryPrimitives.WriteUInt32LittleEndian(image[0x0c..], _driverFeatureSelect < 2 ? (uint)(_driverFeatures >> (int)(32 * _driverFeatureSelect)) : 0);
            BinaryPrimitives.WriteUInt16LittleEndian(image[0x10..], _configMsixVector);
            BinaryPrimitives.WriteUInt16LittleEndian(image[0x12..], (ushort)_queues.Length);
            image[0x14] = _status;
            image[0x15] = _generation;
            BinaryPrimitives.WriteUInt16LittleEndian(image[0x16..], _queueSelect);
            if (q is not null)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(image[0x18..], q.Size);
                BinaryPrimitives.WriteUInt16LittleEndian(image[0x1a..], q.MsixVector);
                BinaryPrimitives.WriteUInt16LittleEndian(image[0x1c..], q.Enabled ? (ushort)1 : (ushort)0);
                BinaryPrimitives.WriteUInt16LittleEndian(image[0x1e..], (ushort)q.Index);
                BinaryPrimitives.WriteUInt64LittleEndian(image[0x20..], q.DescTable);
                BinaryPrimitives.WriteUInt64LittleEndian(image[0x28..], q.AvailRing);
                BinaryPrimitives.WriteUInt64LittleEndian(image[0x30..], q.UsedRing);
            }
        }
        return BinaryPrimitives.ReadUInt64LittleEndian(image[offset..]) & IoBus.AllOnes(size);
    }

    private void WriteCommon(int offset, int size, ulong value)
    {
        bool reset = false, activate = false;
        lock (_gate)
        {
            var q = _queues.Length > _queueSelect ? _queues[_queueSelect] : null;
            bool queueWritable = q is not null && (_status & StatusDriverOk) == 0;
            switch (offset)
            {
                case 0x00: _deviceFeatureSelect = (uint)value; break;
                case 0x08: _driverFeatureSelect = (uint)value; break;
                case 0x0c when (_status & StatusFeaturesOk) == 0 && _driverFeatureSelect < 2:
                    int shift = (int)(32 * _driverFeatureSelect);
                    _driverFeatures = (_driverFeatures & ~(0xffff_ffffUL << shift)) | ((value & 0xffff_ffff) << shift);
                    break;
                case 0x10: _configMsixVector = Vector(value); break;
                case 0x14:
                    if ((byte)value == 0) reset = true;
                    else activate = SetStatus((byte)value);
                    break;
                case 0x16: _queueSelect = (ushort)value; break;
                case 0x18 when queueWritable: q!.Size = (ushort)value; break;
                case 0x1a when q is not null: q.MsixVector = Vector(value); break;
                case 0x1c when queueWritable: q!.Enabled = (value & 1) != 0; break;
                case 0x20 or 0x24 when queueWritable: q!.DescTable = Merge(q.DescTable, offset - 0x20, size, value); break;
                case 0x28 or 0x2c when queueWritable: q!.AvailRing = Merge(q.AvailRing, offset - 0x28, size, value); break;
                case 0x30 or 0x34 when queueWritable: q!.UsedRing = Merge(q.UsedRing, offset - 0x30, size, value); break;
            }
        }
        if (reset) Reset();
        if (activate) Activate();
    }

    /// <summary>A vector the driver maps, or NO_VECTOR where the table has no such entry (virtio 4.1.5.1.2:
    /// the driver reads the register back to learn that the mapping failed).</summary>
    private ushort Vector(ulong value) => _msix is not null && value < (ulong)_msix.Vectors ? (ushort)value : NoVector;

    private static ulong Merge(ulong old, int at, int size, ulong value)
    {
        if (size >= 8 && at == 0) return value;
        ulong mask = IoBus.AllOnes(Math.Min(size, 8 - at)) << (8 * at);
        return (old & ~mask) | ((value << (8 * at)) & mask);
    }

    /// <summary>Applies a status write; true when it turned DRIVER_OK on (the queues start outside the lock).</summary>
    private bool SetStatus(byte value)
    {
        byte old = _status;
        // The driver never clears a bit (virtio 1.x 2.1.2: only a write of 0, the reset, does), so a
        // write that would is taken as adding its bits: DRIVER_OK cannot be toggled to start the queues twice.
        byte next = (byte)(value | old);
        if ((next & StatusFeaturesOk) != 0 && (old & StatusFeaturesOk) == 0)
        {
            bool subset = (_driverFeatures & ~_device.DeviceFeatures) == 0;
            if (!subset || (_driverFeatures & Bit(FeatureVersion1)) == 0) next &= unchecked((byte)~StatusFeaturesOk);
        }
        // DRIVER_OK before the features were accepted would show a device that never starts: it does not stick.
        if ((next & StatusFeaturesOk) == 0) next &= unchecked((byte)~StatusDriverOk);
        _status = next;
        return (next & StatusDriverOk) != 0 && (old & StatusDriverOk) == 0 && (next & StatusFeaturesOk) != 0;
    }

    private void Activate()
    {
        try
        {
            foreach (var q in _queues)
            {
                q.EventIdx = (_driverFeatures & Bit(FeatureEventIdx)) != 0;
                q.Indirect = (_driverFeatures & Bit(FeatureIndirectDesc)) != 0;
                if (q.Enabled) q.Validate();
            }
        }
        catch (VirtioQueueException e)
        {
            OnNeedsReset(e.Message);
            return;
        }
        _device.Activate(_driverFeatures, _queues);
    }

    private void Reset()
    {
        _device.Reset();
        lock (_gate)
        {
            foreach (var q in _queues) q.Reset();
            _status = 0;
            _driverFeatures = 0;
            _deviceFeatureSelect = _driverFeatureSelect = 0;
            _queueSelect = 0;
            _configMsixVector = NoVector;
            _isr = 0;
            _resetReason = null;
            SyncIntxLocked();
        }
    }

    private ulong ReadIsr()
    {
        lock (_gate)
        {
            byte isr = _isr;
            _isr = 0;
            SyncIntxLocked();
            return isr;
        }
    }

    private void RaiseQueueInterrupt(int queue)
    {
        if (_msix is not null && _msix.Enabled)
        {
            ushort vector = _queues[queue].MsixVector;
            if (vector != NoVector) _msix.Signal(vector);
            return;
        }
        RaiseIntx(1);
    }

    private void RaiseConfigInterrupt()
    {
        if (_msix is not null && _msix.Enabled)
        {
            ushort vector;
            lock (_gate) vector = _configMsixVector;
            if (vector != NoVector) _msix.Signal(vector);
            return;
        }
        RaiseIntx(2);
    }

    private void RaiseIntx(byte bit)
    {
        lock (_gate)
        {
            _isr |= bit;
            SyncIntxLocked();
        }
    }

    private void SyncIntx()
    {
        lock (_gate) SyncIntxLocked();
    }

    /// <summary>Drives the INTx pin from the ISR: asserted while a bit is set, unless the driver disabled
    /// INTx in the command register or enabled MSI-X (PCI 3.0 6.8.3: the function then must not use INTx).
    /// Called under the lock, so that the pin always follows the last change of the ISR: an I/O thread
    /// setting a bit while a vCPU reads (and clears) the ISR cannot leave the pin low over a set bit.</summary>
    private void SyncIntxLocked() => _intx?.Set(_isr != 0 && !Config.IntxDisabled && !(_msix?.Enabled ?? false));

    /// <summary>The device changed its configuration area: a new generation and, once the driver runs it, a config interrupt.</summary>
    private void OnConfigChanged()
    {
        bool live;
        lock (_gate)
        {
            _generation++;
            live = (_status & StatusDriverOk) != 0;
        }
        if (live) RaiseConfigInterrupt();
    }

    private void OnNeedsReset(string reason)
    {
        lock (_gate)
        {
            _status |= StatusNeedsReset;
            _resetReason = reason;
            _generation++;
        }
        RaiseConfigInterrupt();
    }

    /// <inheritdoc />
    public void Pause() => _device.Pause();

    /// <inheritdoc />
    public void Resume() => _device.Resume();

    /// <inheritdoc />
    public byte[] SaveState()
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write(Config.Snapshot());
        lock (_gate)
        {
            w.Write(_deviceFeatureSelect);
            w.Write(_driverFeatureSelect);
            w.Write(_driverFeatures);
            w.Write(_status);
            w.Write(_generation);
            w.Write(_isr);
            w.Write(_queueSelect);
            w.Write(_configMsixVector);
            w.Write(_queues.Length);
            foreach (var q in _queues)
            {
                w.Write(q.Size); w.Write(q.Enabled); w.Write(q.MsixVector);
                w.Write(q.DescTable); w.Write(q.AvailRing); w.Write(q.UsedRing);
                w.Write(q.NextAvail); w.Write(q.NextUsed); w.Write(q.SignalledUsed);
            }
        }
        var msix = _msix?.SaveState() ?? [];
        w.Write(msix.Length);
        w.Write(msix);
        var own = _device.SaveDeviceState();
        w.Write(own.Length);
        w.Write(own);
        w.Flush();
        return ms.ToArray();
    }

    /// <inheritdoc />
    public void RestoreState(ReadOnlySpan<byte> state)
    {
        using var ms = new MemoryStream(state.ToArray(), writable: false);
        using var r = new BinaryReader(ms);
        try
        {
            var config = r.ReadBytes(PciConfigSpace.Size);
            if (config.Length != PciConfigSpace.Size) throw new EndOfStreamException();
            if (BinaryPrimitives.ReadUInt32LittleEndian(config) != BinaryPrimitives.ReadUInt32LittleEndian(Config.Snapshot()))
                throw new VmmException($"{Name}: the state is of another PCI device", "virtio-restore");
            Config.Restore(config);
            bool live;
            lock (_gate)
            {
                _deviceFeatureSelect = r.ReadUInt32();
                _driverFeatureSelect = r.ReadUInt32();
                _driverFeatures = r.ReadUInt64();
                _status = r.ReadByte();
                _generation = r.ReadByte();
                _isr = r.ReadByte();
                _queueSelect = r.ReadUInt16();
                _configMsixVector = r.ReadUInt16();
                int n = r.ReadInt32();
                if (n != _queues.Length) throw new VmmException($"{Name}: the state has {n} queues, the device {_queues.Length}", "virtio-restore");
                foreach (var q in _queues)
                {
                    q.Size = r.ReadUInt16(); q.Enabled = r.ReadBoolean(); q.MsixVector = r.ReadUInt16();
                    q.DescTable = r.ReadUInt64(); q.AvailRing = r.ReadUInt64(); q.UsedRing = r.ReadUInt64();
                    q.NextAvail = r.ReadUInt16(); q.NextUsed = r.ReadUInt16(); q.SignalledUsed = r.ReadUInt16();
                }
                live = (_status & StatusDriverOk) != 0 && (_status & StatusNeedsReset) == 0;
            }
            var msix = ReadPart(r, "MSI-X");
            if ((msix.Length > 0) != (_msix is not null))
                throw new VmmException($"{Name}: the state's MSI-X part ({msix.Length} bytes) does not fit this VM", "virtio-restore");
            _msix?.RestoreState(msix);
            _device.RestoreDeviceState(ReadPart(r, "device"));
            if (ms.Position != ms.Length) throw new VmmException($"{Name}: {ms.Length - ms.Position} trailing bytes of state", "virtio-restore");
            if (live) Activate();
            SyncIntx();
        }
        catch (EndOfStreamException e)
        {
            throw new VmmException($"{Name}: the state is truncated", "virtio-restore", inner: e);
        }
    }

    /// <summary>A length-prefixed part of the state; a length that is negative or runs past the end is refused.</summary>
    private byte[] ReadPart(BinaryReader r, string what)
    {
        int length = r.ReadInt32();
        long left = r.BaseStream.Length - r.BaseStream.Position;
        if (length < 0 || length > left)
            throw new VmmException($"{Name}: the state's {what} part claims {length} bytes where {left} remain", "virtio-restore");
        return r.ReadBytes(length);
    }

    /// <summary>Stops the device's I/O threads.</summary>
    public void Dispose() => _device.Dispose();
}
