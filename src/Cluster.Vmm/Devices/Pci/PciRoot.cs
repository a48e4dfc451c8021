namespace Cluster.Vmm.Devices.Pci;

/// <summary>
/// PCI bus 0 behind configuration mechanism 1: the address register at 0xCF8 (enable bit, bus,
/// device, function, register) and the data window at 0xCFC-0xCFF. Only bus 0, function 0 of each
/// of the 32 slots exists; everything else reads all ones. Each function's memory BARs are claimed on
/// the <see cref="IoBus"/> at the address its configuration space holds while memory decoding is on,
/// and re-claimed when the guest moves them (a BAR that would overlap RAM or another range stays
/// unmapped, as on hardware where such a BAR decodes nothing useful).
/// </summary>
public sealed class PciRoot : IPortDevice
{
    /// <summary>The first port of configuration mechanism 1.</summary>
    public const ushort ConfigAddressPort = 0xcf8;

    /// <summary>Ports from 0xCF8 to 0xCFF.</summary>
    public const int PortCount = 8;

    private readonly object _gate = new();
    private readonly IoBus _bus;
    private readonly Func<ulong, ulong, bool> _overlapsRam;
    private readonly PciFunction?[] _slots = new PciFunction?[32];
    private readonly Dictionary<(PciFunction, int), BarWindow> _mapped = [];
    private uint _address;

    /// <summary>Bus 0 dispatching BAR accesses through <paramref name="bus"/>; <paramref name="overlapsRam"/>
    /// tells whether a guest-physical range (start, length) touches guest RAM.</summary>
    public PciRoot(IoBus bus, Func<ulong, ulong, bool> overlapsRam)
    {
        _bus = bus;
        _overlapsRam = overlapsRam;
    }

    /// <summary>The functions by slot (null where the slot is empty).</summary>
    public IReadOnlyList<PciFunction?> Slots => _slots;

    /// <summary>Puts <paramref name="function"/> into <paramref name="slot"/> and maps its BARs.</summary>
    public void Attach(int slot, PciFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        lock (_gate)
        {
            if (slot is < 0 or > 31 || _slots[slot] is not null)
                throw new VmmException($"PCI slot {slot} is out of range or taken", "pci-attach");
            _slots[slot] = function;
        }
        // A BAR that moves, or stops decoding, may free the range another function's BAR was refused
        // (an overlap): every function is brought in line, not only the one written.
        function.Config.Written += (offset, _) =>
        {
            if (offset < PciConfigSpace.Bar0 + 24 && offset + 4 > PciConfigSpace.Command) RemapAll();
        };
        Remap(function);
    }

    /// <summary>Brings the MMIO claims of every function in line with its config space.</summary>
    public void RemapAll()
    {
        lock (_gate)
        {
            var functions = _slots.OfType<PciFunction>().ToList();
            foreach (var f in functions) Unmap(f);
            foreach (var f in functions) Map(f);
        }
    }

    /// <summary>The lowest free slot from 1 up, or -1.</summary>
    public int FreeSlot()
    {
        lock (_gate)
            for (int s = 1; s < 32; s++)
                if (_slots[s] is null) return s;
        return -1;
    }

    /// <inheritdoc />
    public ulong Read(ushort offset, int size)
    {
        if (offset < 4)
            return offset == 0 && size == 4 ? Volatile.Read(ref _address) : IoBus.AllOnes(size);
        var (function, register) = Target(offset);
        return function is null ? IoBus.AllOnes(size) : function.Config.Read(register, size);
    }

    /// <inheritdoc />
    public void Write(ushort offset, int size, ulong value)
    {
        if (offset < 4)
        {
            // Only a 32-bit write sets the address (Linux's probe writes a byte to 0xCFB and expects no change).
            if (offset == 0 && size == 4) Volatile.Write(ref _address, (uint)value & 0x80ff_fffc);
            return;
        }
        var (function, register) = Target(offset);
        function?.Config.Write(register, size, (uint)value);
    }

    private (PciFunction? Function, int Register) Target(ushort offset)
    {
        uint a = Volatile.Read(ref _address);
        if ((a & 0x8000_0000) == 0) return (null, 0);
        int bus = (int)(a >> 16) & 0xff, device = (int)(a >> 11) & 0x1f, fn = (int)(a >> 8) & 7;
        if (bus != 0 || fn != 0) return (null, 0);
        int register = (int)(a & 0xfc) + (offset - 4);
        return (_slots[device], register);
    }

    /// <summary>Brings the MMIO claims of <paramref name="function"/>'s BARs in line with its config space.</summary>
    public void Remap(PciFunction function)
    {
        lock (_gate)
        {
            Unmap(function);
            Map(function);
        }
    }

    /// <summary>Releases the claims of BARs that moved or stopped decoding.</summary>
    private void Unmap(PciFunction function)
    {
        bool enabled = function.Config.MemoryEnabled;
        foreach (var bar in function.Config.Bars)
        {
            if (bar is null || !_mapped.TryGetValue((function, bar.Index), out var current)) continue;
            if (Wanted(function, bar, enabled) == current.Address) continue;
            _bus.UnregisterMmio(current);
            _mapped.Remove((function, bar.Index));
        }
    }

    /// <summary>Claims the BARs that decode and are not claimed yet, where the range is free.</summary>
    private void Map(PciFunction function)
    {
        bool enabled = function.Config.MemoryEnabled;
        foreach (var bar in function.Config.Bars)
        {
            if (bar is null || _mapped.ContainsKey((function, bar.Index))) continue;
            if (Wanted(function, bar, enabled) is not ulong address) continue;
            // During sizing the guest writes all ones: such an address overlaps RAM or wraps; leave it unmapped.
            if (_overlapsRam(address, bar.Size) || _bus.MmioOverlaps(address, bar.Size)) continue;
            var window = new BarWindow(function, bar.Index, address);
            _bus.RegisterMmio(address, bar.Size, window);
            _mapped[(function, bar.Index)] = window;
        }
    }

    /// <summary>The address a BAR decodes at, or null when it decodes nothing (memory decoding off, unassigned, wrapping).</summary>
    private static ulong? Wanted(PciFunction function, PciBar bar, bool enabled)
    {
        ulong address = function.Config.BarAddress(bar.Index);
        return enabled && address != 0 && address + bar.Size > address ? address : null;
    }

    /// <summary>One mapped BAR on the MMIO bus.</summary>
    private sealed class BarWindow(PciFunction function, int bar, ulong address) : IMmioDevice
    {
        public ulong Address { get; } = address;
        public ulong Read(ulong offset, int size) => function.ReadBar(bar, offset, size);
        public void Write(ulong offset, int size, ulong value) => function.WriteBar(bar, offset, size, value);
    }
}
