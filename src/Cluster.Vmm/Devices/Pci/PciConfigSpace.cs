using System.Buffers.Binary;

namespace Cluster.Vmm.Devices.Pci;

/// <summary>
/// The 256-byte configuration space of one PCI function (a type-0 header): identity, command and
/// status, memory BARs (sized the standard way: a write of all ones reads back the size mask),
/// the interrupt line and pin, and a linked list of capabilities from offset 0x40. Writes go through
/// a per-byte mask, so read-only fields stay as the device set them; BAR and capability writes are
/// reported to the owner through <see cref="Written"/>. Thread-safe: vCPUs may access it at once.
/// </summary>
public sealed class PciConfigSpace
{
    /// <summary>Size of a conventional PCI configuration space.</summary>
    public const int Size = 256;

    /// <summary>Offsets of the header fields.</summary>
    public const int VendorId = 0x00, DeviceId = 0x02, Command = 0x04, Status = 0x06, RevisionId = 0x08,
        ClassCode = 0x09, HeaderType = 0x0e, Bar0 = 0x10, SubsystemVendorId = 0x2c, SubsystemId = 0x2e,
        CapabilitiesPointer = 0x34, InterruptLine = 0x3c, InterruptPin = 0x3d;

    /// <summary>Command register bits.</summary>
    public const ushort CommandMemory = 1 << 1, CommandBusMaster = 1 << 2, CommandIntxDisable = 1 << 10;

    private const ushort StatusCapabilities = 1 << 4;
    private const int FirstCapability = 0x40;

    private readonly object _gate = new();
    private readonly byte[] _data = new byte[Size];
    private readonly byte[] _writable = new byte[Size];
    private readonly PciBar?[] _bars = new PciBar?[6];
    private int _nextCapability = FirstCapability;
    private int _lastCapability;

    /// <summary>A header with the given identity; the subsystem ids default to the vendor and device.</summary>
    public PciConfigSpace(ushort vendor, ushort device, uint classCode, byte revision, ushort subsystemVendor, ushort subsystemId)
    {
        Set16(VendorId, vendor);
        Set16(DeviceId, device);
        _data[RevisionId] = revision;
        _data[ClassCode] = (byte)classCode;
        _data[ClassCode + 1] = (byte)(classCode >> 8);
        _data[ClassCode + 2] = (byte)(classCode >> 16);
        Set16(SubsystemVendorId, subsystemVendor);
        Set16(SubsystemId, subsystemId);
        // Command: memory space, bus master and INTx disable are the driver's to set.
        Set16Mask(Command, CommandMemory | CommandBusMaster | CommandIntxDisable);
        _writable[InterruptLine] = 0xff;
    }

    /// <summary>Raised after a write, outside the lock, with the offset and size written.</summary>
    public event Action<int, int>? Written;

    /// <summary>The BARs declared, by index (the upper half of a 64-bit BAR is null).</summary>
    public IReadOnlyList<PciBar?> Bars => _bars;

    /// <summary>The command register.</summary>
    public ushort CommandRegister { get { lock (_gate) return Get16(Command); } }

    /// <summary>Memory decoding is on (the guest set the command register's memory bit).</summary>
    public bool MemoryEnabled => (CommandRegister & CommandMemory) != 0;

    /// <summary>The guest may let the function write memory (bus master).</summary>
    public bool BusMaster => (CommandRegister & CommandBusMaster) != 0;

    /// <summary>INTx is disabled by the guest.</summary>
    public bool IntxDisabled => (CommandRegister & CommandIntxDisable) != 0;

    /// <summary>Declares a memory BAR; its address starts at 0 (unassigned).</summary>
    public void AddBar(PciBar bar)
    {
        ArgumentNullException.ThrowIfNull(bar);
        if (bar.Size < 4096 || (bar.Size & (bar.Size - 1)) != 0)
            throw new VmmException($"BAR {bar.Index} of {bar.Size} bytes: a BAR is a power of two of at least 4 KiB", "pci-bar");
        int slots = bar.Kind == PciBarKind.Memory64 ? 2 : 1;
        if (bar.Index < 0 || bar.Index + slots > 6 || _bars[bar.Index] is not null || (slots == 2 && _bars[bar.Index + 1] is not null))
            throw new VmmException($"BAR {bar.Index} is out of range or taken", "pci-bar");
        lock (_gate)
        {
            _bars[bar.Index] = bar;
            int off = Bar0 + 4 * bar.Index;
            uint low = (uint)(bar.Kind == PciBarKind.Memory64 ? 0b100 : 0) | (bar.Prefetchable ? 0b1000u : 0);
            BinaryPrimitives.WriteUInt32LittleEndian(_data.AsSpan(off), low);
            BinaryPrimitives.WriteUInt32LittleEndian(_writable.AsSpan(off), (uint)~(bar.Size - 1) & 0xffff_fff0);
            if (slots == 2)
                BinaryPrimitives.WriteUInt32LittleEndian(_writable.AsSpan(off + 4), (uint)(~(bar.Size - 1) >> 32));
        }
    }

    /// <summary>The guest-physical address a BAR decodes now (0: unassigned).</summary>
    public ulong BarAddress(int index)
    {
        lock (_gate)
        {
            var bar = _bars[index] ?? throw new VmmException($"no BAR {index}", "pci-bar");
            int off = Bar0 + 4 * index;
            ulong a = BinaryPrimitives.ReadUInt32LittleEndian(_data.AsSpan(off)) & 0xffff_fff0u;
            if (bar.Kind == PciBarKind.Memory64) a |= (ulong)BinaryPrimitives.ReadUInt32LittleEndian(_data.AsSpan(off + 4)) << 32;
            return a;
        }
    }

    /// <summary>Sets a BAR's address as firmware would before the guest runs.</summary>
    public void SetBarAddress(int index, ulong address)
    {
        lock (_gate)
        {
            var bar = _bars[index] ?? throw new VmmException($"no BAR {index}", "pci-bar");
            if ((address & (bar.Size - 1)) != 0) throw new VmmException($"BAR {index} address 0x{address:x} is not aligned to its size 0x{bar.Size:x}", "pci-bar");
            int off = Bar0 + 4 * index;
            uint low = BinaryPrimitives.ReadUInt32LittleEndian(_data.AsSpan(off)) & 0xf;
            BinaryPrimitives.WriteUInt32LittleEndian(_data.AsSpan(off), (uint)address | low);
            if (bar.Kind == PciBarKind.Memory64) BinaryPrimitives.WriteUInt32LittleEndian(_data.AsSpan(off + 4), (uint)(address >> 32));
            else if (address >> 32 != 0) throw new VmmException($"BAR {index} is 32-bit; 0x{address:x} is above 4 GiB", "pci-bar");
        }
    }

    /// <summary>Sets the command register as firmware would (memory decoding on, for example).</summary>
    public void SetCommand(ushort value) { lock (_gate) Set16(Command, value); }

    /// <summary>Sets the interrupt pin (1 = INTA) and line the function uses.</summary>
    public void SetInterrupt(byte pin, byte line)
    {
        lock (_gate)
        {
            _data[InterruptPin] = pin;
            _data[InterruptLine] = line;
        }
    }

    /// <summary>The interrupt line register (what the guest or firmware wrote there).</summary>
    public byte InterruptLineRegister { get { lock (_gate) return _data[InterruptLine]; } }

    /// <summary>
    /// Appends a capability (<paramref name="body"/> starts with the capability id; its next pointer,
    /// byte 1, is filled in) and returns its offset. <paramref name="writableMask"/>, as long as the
    /// body or shorter, says which bits the guest may change.
    /// </summary>
    public int AddCapability(ReadOnlySpan<byte> body, ReadOnlySpan<byte> writableMask = default)
    {
        if (body.Length < 2) throw new VmmException("a capability has at least an id and a next pointer", "pci-cap");
        lock (_gate)
        {
            int len = (body.Length + 3) & ~3;
            int off = _nextCapability;
            if (off + len > Size) throw new VmmException("the configuration space has no room for another capability", "pci-cap");
            body.CopyTo(_data.AsSpan(off));
            _data[off + 1] = 0;
            writableMask.CopyTo(_writable.AsSpan(off));
            if (_lastCapability == 0)
            {
                _data[CapabilitiesPointer] = (byte)off;
                Set16(Status, (ushort)(Get16(Status) | StatusCapabilities));
            }
            else _data[_lastCapability + 1] = (byte)off;
            _lastCapability = off;
            _nextCapability = off + len;
            return off;
        }
    }

    /// <summary>Reads <paramref name="size"/> bytes (1, 2 or 4) at <paramref name="offset"/>; past the
    /// end reads all ones.</summary>
    public uint Read(int offset, int size)
    {
        if (offset < 0 || offset + size > Size) return (uint)IoBus.AllOnes(size);
        lock (_gate)
        {
            uint v = 0;
            for (int i = 0; i < size; i++) v |= (uint)_data[offset + i] << (8 * i);
            return v;
        }
    }

    /// <summary>Reads bytes of the space, as the device itself sees them.</summary>
    public void ReadBytes(int offset, Span<byte> destination)
    {
        lock (_gate) _data.AsSpan(offset, destination.Length).CopyTo(destination);
    }

    /// <summary>Writes bytes of the space as the device (not the guest), past the write mask.</summary>
    public void WriteBytes(int offset, ReadOnlySpan<byte> source)
    {
        lock (_gate) source.CopyTo(_data.AsSpan(offset));
    }

    /// <summary>A guest write of <paramref name="size"/> bytes: only bits of the write mask change.</summary>
    public void Write(int offset, int size, uint value)
    {
        if (offset < 0 || offset + size > Size) return;
        lock (_gate)
        {
            for (int i = 0; i < size; i++)
            {
                byte mask = _writable[offset + i];
                byte b = (byte)(value >> (8 * i));
                _data[offset + i] = (byte)((_data[offset + i] & ~mask) | (b & mask));
            }
        }
        Written?.Invoke(offset, size);
    }

    /// <summary>All 256 bytes (for state capture).</summary>
    public byte[] Snapshot() { lock (_gate) return (byte[])_data.Clone(); }

    /// <summary>Loads bytes captured by <see cref="Snapshot"/> (identity fields included).</summary>
    public void Restore(ReadOnlySpan<byte> data)
    {
        if (data.Length != Size) throw new VmmException($"a PCI configuration space is {Size} bytes, not {data.Length}", "pci-restore");
        lock (_gate) data.CopyTo(_data);
    }

    private ushort Get16(int off) => BinaryPrimitives.ReadUInt16LittleEndian(_data.AsSpan(off));
    private void Set16(int off, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(_data.AsSpan(off), v);
    private void Set16Mask(int off, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(_writable.AsSpan(off), v);
}
