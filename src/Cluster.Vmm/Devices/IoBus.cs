namespace Cluster.Vmm.Devices;

/// <summary>
/// The port-I/O and MMIO bus of one VM: devices claim port ranges and MMIO ranges (overlaps are
/// refused) and the vCPU run loop dispatches its I/O exits here. Accesses that no device claims
/// behave like an empty ISA bus: reads return all ones, writes are dropped; both are counted.
/// Registration is copy-on-write, so dispatch takes no lock and may run on several vCPU threads.
/// </summary>
public sealed class IoBus
{
    private readonly object _gate = new();
    private volatile PortRange[] _ports = [];
    private volatile MmioRange[] _mmio = [];
    private long _unclaimedPortReads, _unclaimedPortWrites, _unclaimedMmioReads, _unclaimedMmioWrites;

    private sealed record PortRange(ushort First, int Count, IPortDevice Device)
    {
        public int End => First + Count;
    }

    private sealed record MmioRange(ulong First, ulong Length, IMmioDevice Device)
    {
        public ulong End => First + Length;
    }

    /// <summary>Port reads that no device claimed (answered with all ones).</summary>
    public long UnclaimedPortReads => Interlocked.Read(ref _unclaimedPortReads);

    /// <summary>Port writes that no device claimed (dropped).</summary>
    public long UnclaimedPortWrites => Interlocked.Read(ref _unclaimedPortWrites);

    /// <summary>MMIO reads that no device claimed (answered with all ones).</summary>
    public long UnclaimedMmioReads => Interlocked.Read(ref _unclaimedMmioReads);

    /// <summary>MMIO writes that no device claimed (dropped).</summary>
    public long UnclaimedMmioWrites => Interlocked.Read(ref _unclaimedMmioWrites);

    /// <summary>Claims ports [first, first+count) for <paramref name="device"/>.</summary>
    /// <exception cref="VmmException">an empty range, one past port 0xffff, or one overlapping a claimed range.</exception>
    public void RegisterPorts(ushort first, int count, IPortDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (count <= 0 || first + count > 0x10000)
            throw new VmmException($"port range 0x{first:x}+{count} is empty or beyond port 0xffff", "io-bus");
        lock (_gate)
        {
            foreach (var r in _ports)
                if (first < r.End && r.First < first + count)
                    throw new VmmException($"port range 0x{first:x}-0x{first + count - 1:x} overlaps the range 0x{r.First:x}-0x{r.End - 1:x} of {r.Device.GetType().Name}", "io-bus");
            _ports = [.. _ports.Append(new PortRange(first, count, device)).OrderBy(r => r.First)];
        }
    }

    /// <summary>Claims guest-physical [first, first+length) for <paramref name="device"/>.</summary>
    /// <exception cref="VmmException">an empty range, one that wraps, or one overlapping a claimed range.</exception>
    public void RegisterMmio(ulong first, ulong length, IMmioDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (length == 0 || first + length < first)
            throw new VmmException($"MMIO range 0x{first:x}+0x{length:x} is empty or wraps around", "io-bus");
        lock (_gate)
        {
            foreach (var r in _mmio)
                if (first < r.End && r.First < first + length)
                    throw new VmmException($"MMIO range 0x{first:x}+0x{length:x} overlaps the range 0x{r.First:x}+0x{r.Length:x} of {r.Device.GetType().Name}", "io-bus");
            _mmio = [.. _mmio.Append(new MmioRange(first, length, device)).OrderBy(r => r.First)];
        }
    }

    /// <summary>Releases every MMIO range claimed by <paramref name="device"/> (a PCI BAR that the guest
    /// moves or disables); true when one was claimed.</summary>
    public bool UnregisterMmio(IMmioDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        lock (_gate)
        {
            var kept = _mmio.Where(r => !ReferenceEquals(r.Device, device)).ToArray();
            if (kept.Length == _mmio.Length) return false;
            _mmio = kept;
            return true;
        }
    }

    /// <summary>Whether guest-physical [first, first+length) overlaps a claimed MMIO range.</summary>
    public bool MmioOverlaps(ulong first, ulong length)
    {
        foreach (var r in _mmio)
            if (first < r.End && r.First < first + length) return true;
        return false;
    }

    /// <summary>Dispatches an IN; all ones of the access width where no device claims the port.</summary>
    public ulong PortRead(ushort port, int size)
    {
        var r = FindPort(port);
        if (r is null)
        {
            Interlocked.Increment(ref _unclaimedPortReads);
            return AllOnes(size);
        }
        return r.Device.Read((ushort)(port - r.First), size);
    }

    /// <summary>Dispatches an OUT; dropped where no device claims the port.</summary>
    public void PortWrite(ushort port, int size, ulong value)
    {
        var r = FindPort(port);
        if (r is null)
        {
            Interlocked.Increment(ref _unclaimedPortWrites);
            return;
        }
        r.Device.Write((ushort)(port - r.First), size, value);
    }

    /// <summary>Dispatches an MMIO read; all ones of the access width where no device claims the address.</summary>
    public ulong MmioRead(ulong gpa, int size)
    {
        var r = FindMmio(gpa);
        if (r is null)
        {
            Interlocked.Increment(ref _unclaimedMmioReads);
            return AllOnes(size);
        }
        return r.Device.Read(gpa - r.First, size);
    }

    /// <summary>Dispatches an MMIO write; dropped where no device claims the address.</summary>
    public void MmioWrite(ulong gpa, int size, ulong value)
    {
        var r = FindMmio(gpa);
        if (r is null)
        {
            Interlocked.Increment(ref _unclaimedMmioWrites);
            return;
        }
        r.Device.Write(gpa - r.First, size, value);
    }

    /// <summary>The value of a read from nothing: every bit of the access set.</summary>
    public static ulong AllOnes(int size) => size >= 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;

    private PortRange? FindPort(ushort port)
    {
        var ranges = _ports;
        int lo = 0, hi = ranges.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var r = ranges[mid];
            if (port < r.First) hi = mid - 1;
            else if (port >= r.End) lo = mid + 1;
            else return r;
        }
        return null;
    }

    private MmioRange? FindMmio(ulong gpa)
    {
        var ranges = _mmio;
        int lo = 0, hi = ranges.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var r = ranges[mid];
            if (gpa < r.First) hi = mid - 1;
            else if (gpa >= r.End) lo = mid + 1;
            else return r;
        }
        return null;
    }
}
