using System.Buffers.Binary;
using System.Diagnostics;
using Cluster.Vmm.Devices;
using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Tests.TestUtils;

/// <summary>PCI configuration mechanism 1 as a guest drives it: the address at 0xCF8, data at 0xCFC-0xCFF.
/// Numbers are the PCI specification's, written here independently of the VMM's constants.</summary>
internal sealed class PciConfigPorts(IoBus bus)
{
    public static uint Address(int device, int register, int function = 0, int busNumber = 0) =>
        0x8000_0000u | (uint)busNumber << 16 | (uint)device << 11 | (uint)function << 8 | ((uint)register & 0xfc);

    public uint Read(int device, int register, int size, int function = 0, int busNumber = 0)
    {
        bus.PortWrite(0xcf8, 4, Address(device, register, function, busNumber));
        return (uint)bus.PortRead((ushort)(0xcfc + (register & 3)), size);
    }

    public void Write(int device, int register, int size, uint value, int function = 0)
    {
        bus.PortWrite(0xcf8, 4, Address(device, register, function));
        bus.PortWrite((ushort)(0xcfc + (register & 3)), size, value);
    }

    /// <summary>The capability list as (id, offset), walked the way a driver does (bounded against loops).</summary>
    public List<(byte Id, int Offset)> Capabilities(int device)
    {
        var caps = new List<(byte, int)>();
        if ((Read(device, 0x06, 2) & 0x10) == 0) return caps;
        int at = (int)Read(device, 0x34, 1) & 0xfc;
        while (at != 0 && caps.Count < 48)
        {
            caps.Add(((byte)Read(device, at, 1), at));
            at = (int)Read(device, at + 1, 1) & 0xfc;
        }
        return caps;
    }

    /// <summary>A 64-bit memory BAR's address.</summary>
    public ulong Bar64(int device, int index) =>
        (Read(device, 0x10 + 4 * index, 4) & 0xffff_fff0UL) | (ulong)Read(device, 0x14 + 4 * index, 4) << 32;
}

/// <summary>A bump allocator over guest memory for rings and buffers (zeroed on allocation).</summary>
internal sealed class GuestAllocator(GuestMemory memory, ulong start, ulong end)
{
    private ulong _next = start;

    private readonly object _gate = new();

    public ulong Allocate(ulong bytes, ulong alignment = 16)
    {
        ulong a;
        lock (_gate)
        {
            a = (_next + alignment - 1) & ~(alignment - 1);
            if (a + bytes > end) throw new InvalidOperationException($"test guest memory exhausted (0x{bytes:x} bytes wanted at 0x{a:x}, end 0x{end:x})");
            _next = a + bytes;
        }
        memory.Write(a, new byte[bytes]);
        return a;
    }

    public ulong Mark { get { lock (_gate) return _next; } }

    public void Release(ulong mark) { lock (_gate) _next = mark; }
}

/// <summary>
/// A virtio 1.x driver for tests that talks to a modern virtio-pci function only the way a guest can:
/// port I/O on 0xCF8/0xCFC to find it and read its capabilities and BAR, MMIO on the BAR for the
/// common configuration, ISR, device configuration, notifications and MSI-X, and guest memory for the
/// split rings. The spec's numbers are written here independently of the VMM's constants.
/// </summary>
internal sealed class VirtioTestDriver
{
    public const byte Acknowledge = 1, Driver = 2, DriverOk = 4, FeaturesOk = 8, NeedsReset = 0x40, Failed = 0x80;
    public const int FeatureIndirect = 28, FeatureEventIdx = 29, FeatureVersion1 = 32;
    public const ushort NoVector = 0xffff;

    private readonly PciConfigPorts _pci;

    private VirtioTestDriver(IoBus bus, GuestMemory memory, GuestAllocator allocator, int slot)
    {
        Bus = bus;
        Memory = memory;
        Allocator = allocator;
        Slot = slot;
        _pci = new PciConfigPorts(bus);
        Bar = _pci.Bar64(slot, 0);
        foreach (var (id, at) in _pci.Capabilities(slot))
        {
            if (id == 0x11)
            {
                MsixCapability = at;
                MsixTableOffset = _pci.Read(slot, at + 4, 4) & ~7u;
                MsixPbaOffset = _pci.Read(slot, at + 8, 4) & ~7u;
                continue;
            }
            if (id != 0x09) continue;
            byte type = (byte)_pci.Read(slot, at + 3, 1);
            uint offset = _pci.Read(slot, at + 8, 4);
            switch (type)
            {
                case 1: Common = offset; break;
                case 2: Notify = offset; NotifyMultiplier = _pci.Read(slot, at + 16, 4); break;
                case 3: Isr = offset; break;
                case 4: DeviceConfig = offset; break;
            }
        }
    }

    /// <summary>The first function on bus 0 with vendor 0x1af4 and <paramref name="deviceId"/> (0x1042: block).</summary>
    public static VirtioTestDriver Find(IoBus bus, GuestMemory memory, GuestAllocator allocator, ushort deviceId = 0x1042)
    {
        var pci = new PciConfigPorts(bus);
        for (int slot = 0; slot < 32; slot++)
            if (pci.Read(slot, 0, 4) == (0x1af4u | (uint)deviceId << 16))
                return new VirtioTestDriver(bus, memory, allocator, slot);
        throw new InvalidOperationException($"no virtio device 1af4:{deviceId:x4} on bus 0");
    }

    public IoBus Bus { get; private set; }
    public GuestMemory Memory { get; private set; }
    public GuestAllocator Allocator { get; private set; }
    public int Slot { get; }
    public ulong Bar { get; }
    public uint Common { get; }
    public uint Isr { get; }
    public uint DeviceConfig { get; }
    public uint Notify { get; }
    public uint NotifyMultiplier { get; }
    public int MsixCapability { get; }
    public uint MsixTableOffset { get; }
    public uint MsixPbaOffset { get; }
    public Dictionary<int, TestQueue> Queues { get; } = [];
    public PciConfigPorts Pci => _pci;

    /// <summary>Points the driver at another machine's bus and memory (after a restore), keeping its queues.</summary>
    public void Rebind(IoBus bus, GuestMemory memory, GuestAllocator allocator)
    {
        Bus = bus;
        Memory = memory;
        Allocator = allocator;
    }

    public ulong ReadCommon(int offset, int size) => Bus.MmioRead(Bar + Common + (ulong)offset, size);
    public void WriteCommon(int offset, int size, ulong value) => Bus.MmioWrite(Bar + Common + (ulong)offset, size, value);

    public byte Status
    {
        get => (byte)ReadCommon(0x14, 1);
        set => WriteCommon(0x14, 1, value);
    }

    public ushort NumQueues => (ushort)ReadCommon(0x12, 2);
    public byte ConfigGeneration => (byte)ReadCommon(0x15, 1);

    public ulong DeviceFeatures
    {
        get
        {
            WriteCommon(0x00, 4, 0);
            ulong low = ReadCommon(0x04, 4);
            WriteCommon(0x00, 4, 1);
            return low | ReadCommon(0x04, 4) << 32;
        }
    }

    public void WriteDriverFeatures(ulong features)
    {
        WriteCommon(0x08, 4, 0);
        WriteCommon(0x0c, 4, (uint)features);
        WriteCommon(0x08, 4, 1);
        WriteCommon(0x0c, 4, features >> 32);
    }

    /// <summary>Writes 0 to the status and waits until it reads 0 (the reset is complete).</summary>
    public void Reset()
    {
        Status = 0;
        var sw = Stopwatch.StartNew();
        while (Status != 0)
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(5)) throw new TimeoutException("the device did not finish its reset");
            Thread.Sleep(1);
        }
        Queues.Clear();
    }

    /// <summary>Reset, ACKNOWLEDGE, DRIVER, the features, FEATURES_OK; true when the device kept FEATURES_OK.</summary>
    public bool Negotiate(ulong features)
    {
        Reset();
        Status = Acknowledge;
        Status = Acknowledge | Driver;
        WriteDriverFeatures(features);
        Status = Acknowledge | Driver | FeaturesOk;
        return (Status & FeaturesOk) != 0;
    }

    /// <summary>Programs queue <paramref name="index"/> with rings of <paramref name="size"/> entries in guest memory.</summary>
    public TestQueue SetupQueue(int index, ushort size = 64, ushort vector = NoVector)
    {
        WriteCommon(0x16, 2, (ushort)index);
        ushort max = (ushort)ReadCommon(0x18, 2);
        if (max == 0) throw new InvalidOperationException($"queue {index} is not available");
        size = Math.Min(size, max);
        WriteCommon(0x18, 2, size);
        ulong desc = Allocator.Allocate(16UL * size, 16);
        ulong avail = Allocator.Allocate(6 + 2UL * size, 2);
        ulong used = Allocator.Allocate(6 + 8UL * size, 4);
        return ProgramQueue(index, size, desc, avail, used, vector);
    }

    /// <summary>Programs queue <paramref name="index"/> with rings where the caller says (garbage included).</summary>
    public TestQueue ProgramQueue(int index, ushort size, ulong desc, ulong avail, ulong used, ushort vector = NoVector)
    {
        WriteCommon(0x16, 2, (ushort)index);
        WriteCommon(0x18, 2, size);
        // Linux writes the 64-bit fields as two 32-bit halves.
        WriteCommon(0x20, 4, (uint)desc); WriteCommon(0x24, 4, desc >> 32);
        WriteCommon(0x28, 4, (uint)avail); WriteCommon(0x2c, 4, avail >> 32);
        WriteCommon(0x30, 4, (uint)used); WriteCommon(0x34, 4, used >> 32);
        WriteCommon(0x1a, 2, vector);
        ushort notifyOff = (ushort)ReadCommon(0x1e, 2);
        WriteCommon(0x1c, 2, 1);
        var q = new TestQueue(this, index, size, desc, avail, used, notifyOff);
        Queues[index] = q;
        return q;
    }

    public void SetDriverOk() => Status = (byte)(Status | DriverOk);

    /// <summary>Negotiates <paramref name="features"/>, sets up <paramref name="queues"/> queues and sets DRIVER_OK.</summary>
    public void Initialize(ulong features, int queues = 1, ushort queueSize = 64, bool msix = false)
    {
        if (!Negotiate(features)) throw new InvalidOperationException($"the device refused features 0x{features:x}");
        if (msix)
        {
            EnableMsix();
            for (int v = 0; v <= queues; v++) ProgramVector(v, 0xfee0_0000, 0x40u + (uint)v, masked: false);
            WriteCommon(0x10, 2, 0);
        }
        for (int i = 0; i < queues; i++) SetupQueue(i, queueSize, msix ? (ushort)(i + 1) : NoVector);
        SetDriverOk();
        if ((Status & (DriverOk | NeedsReset)) != DriverOk) throw new InvalidOperationException($"status 0x{Status:x2} after DRIVER_OK");
    }

    public static ulong Bit(int feature) => 1UL << feature;

    public ulong ReadConfig(int offset, int size) => Bus.MmioRead(Bar + DeviceConfig + (ulong)offset, size);
    public byte ReadIsr() => (byte)Bus.MmioRead(Bar + Isr, 1);

    public void Kick(TestQueue q) => Bus.MmioWrite(Bar + Notify + (ulong)q.NotifyOff * NotifyMultiplier, 2, (ushort)q.Index);

    public void EnableMsix(bool functionMask = false) =>
        _pci.Write(Slot, MsixCapability + 2, 2, 0x8000u | (functionMask ? 0x4000u : 0));

    public void ProgramVector(int vector, ulong address, uint data, bool masked)
    {
        ulong e = Bar + MsixTableOffset + 16UL * (ulong)vector;
        Bus.MmioWrite(e + 12, 4, 1);
        Bus.MmioWrite(e, 4, (uint)address);
        Bus.MmioWrite(e + 4, 4, address >> 32);
        Bus.MmioWrite(e + 8, 4, data);
        Bus.MmioWrite(e + 12, 4, masked ? 1u : 0u);
    }

    public void MaskVector(int vector, bool masked) => Bus.MmioWrite(Bar + MsixTableOffset + 16UL * (ulong)vector + 12, 4, masked ? 1u : 0u);

    public ulong PendingBits => Bus.MmioRead(Bar + MsixPbaOffset, 8);
}

/// <summary>One buffer of a chain: guest address, length, device-writable.</summary>
internal readonly record struct GuestBuffer(ulong Address, uint Length, bool Writable);

/// <summary>One used-ring element.</summary>
internal readonly record struct UsedElement(ushort Id, uint Length);

/// <summary>The driver's side of a split virtqueue: a descriptor free list, the available ring it
/// publishes and the used ring it consumes.</summary>
internal sealed class TestQueue
{
    private readonly VirtioTestDriver _driver;
    private readonly Stack<ushort> _free = new();
    private readonly Dictionary<ushort, ushort[]> _chains = [];

    public TestQueue(VirtioTestDriver driver, int index, ushort size, ulong desc, ulong avail, ulong used, ushort notifyOff)
    {
        _driver = driver;
        Index = index;
        Size = size;
        Desc = desc;
        Avail = avail;
        Used = used;
        NotifyOff = notifyOff;
        for (int i = size - 1; i >= 0; i--) _free.Push((ushort)i);
    }

    public VirtioTestDriver Driver => _driver;
    public int Index { get; }
    public ushort Size { get; }
    public ulong Desc { get; }
    public ulong Avail { get; }
    public ulong Used { get; }
    public ushort NotifyOff { get; }
    public ushort AvailIdx { get; private set; }
    public ushort LastUsed { get; private set; }
    public int FreeDescriptors => _free.Count;

    /// <summary>Whether taking a used element moves used_event past it (Linux's behaviour); off to test suppression.</summary>
    public bool AutoUsedEvent { get; set; } = true;
    private GuestMemory Memory => _driver.Memory;

    public void WriteDescriptor(ushort i, ulong address, uint length, ushort flags, ushort next) =>
        WriteDescriptorAt(Desc + 16UL * i, address, length, flags, next);

    public void WriteDescriptorAt(ulong at, ulong address, uint length, ushort flags, ushort next)
    {
        Span<byte> d = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(d, address);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
        Memory.Write(at, d);
    }

    /// <summary>Makes a chain of <paramref name="buffers"/> available (through one indirect descriptor
    /// when <paramref name="indirect"/>) and returns its head; published unless told otherwise.</summary>
    public ushort Add(IReadOnlyList<GuestBuffer> buffers, bool indirect = false, bool publish = true)
    {
        ushort head;
        if (indirect)
        {
            ulong table = _driver.Allocator.Allocate(16UL * (ulong)buffers.Count, 16);
            for (int i = 0; i < buffers.Count; i++)
                WriteDescriptorAt(table + 16UL * (ulong)i, buffers[i].Address, buffers[i].Length,
                    (ushort)((buffers[i].Writable ? 2 : 0) | (i + 1 < buffers.Count ? 1 : 0)), (ushort)(i + 1 < buffers.Count ? i + 1 : 0));
            head = Take(1)[0];
            WriteDescriptor(head, table, (uint)(16 * buffers.Count), 4, 0);
            _chains[head] = [head];
        }
        else
        {
            var ids = Take(buffers.Count);
            for (int i = 0; i < buffers.Count; i++)
                WriteDescriptor(ids[i], buffers[i].Address, buffers[i].Length,
                    (ushort)((buffers[i].Writable ? 2 : 0) | (i + 1 < buffers.Count ? 1 : 0)), i + 1 < buffers.Count ? ids[i + 1] : (ushort)0);
            head = ids[0];
            _chains[head] = ids;
        }
        PushAvail(head, publish);
        return head;
    }

    private ushort[] Take(int n)
    {
        if (n > _free.Count) throw new InvalidOperationException($"queue {Index}: {n} descriptors wanted, {_free.Count} free");
        var ids = new ushort[n];
        for (int i = 0; i < n; i++) ids[i] = _free.Pop();
        return ids;
    }

    /// <summary>Puts <paramref name="head"/> into the next available-ring entry (raw: no bookkeeping of descriptors).</summary>
    public void PushAvail(ushort head, bool publish = true)
    {
        Memory.WriteU16(Avail + 4 + 2UL * (ulong)(AvailIdx % Size), head);
        AvailIdx++;
        if (publish) Publish();
    }

    /// <summary>Writes the available index the driver has reached.</summary>
    public void Publish() => Memory.WriteU16Release(Avail + 2, AvailIdx);

    /// <summary>Sets the available index to anything (garbage tests).</summary>
    public void SetAvailIdx(ushort idx)
    {
        AvailIdx = idx;
        Publish();
    }

    public void Kick() => _driver.Kick(this);

    /// <summary>Kicks only where the device asked for it (VIRTIO_RING_F_EVENT_IDX), given the available
    /// index before the chains just published, as Linux's virtqueue_kick_prepare does.</summary>
    public void KickIfNeeded(ushort before)
    {
        Interlocked.MemoryBarrier();
        ushort ev = AvailEvent;
        if ((ushort)(AvailIdx - ev - 1) < (ushort)(AvailIdx - before)) Kick();
    }

    public ushort DeviceUsedIdx => Memory.ReadU16Acquire(Used + 2);
    public ushort AvailEvent => Memory.ReadU16(Used + 4 + 8UL * Size);
    public void SetUsedEvent(ushort value) => Memory.WriteU16(Avail + 4 + 2UL * Size, value);
    public void SetAvailFlags(ushort flags) => Memory.WriteU16(Avail, flags);

    public bool TryTakeUsed(out UsedElement element)
    {
        element = default;
        if (DeviceUsedIdx == LastUsed) return false;
        ulong e = Used + 4 + 8UL * (ulong)(LastUsed % Size);
        element = new UsedElement((ushort)Memory.ReadU32(e), Memory.ReadU32(e + 4));
        LastUsed++;
        // As Linux does with VIRTIO_RING_F_EVENT_IDX: interrupt me for the next entry (ignored without it).
        if (AutoUsedEvent) SetUsedEvent(LastUsed);
        if (_chains.Remove(element.Id, out var ids))
            foreach (var id in ids) _free.Push(id);
        return true;
    }

    /// <summary>Waits for <paramref name="count"/> used elements, in the order the device returned them.</summary>
    /// <exception cref="TimeoutException">they did not come (the message says the device status).</exception>
    public List<UsedElement> WaitUsed(int count, TimeSpan? timeout = null)
    {
        var got = new List<UsedElement>();
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var sw = Stopwatch.StartNew();
        var spin = new SpinWait();
        while (got.Count < count)
        {
            if (TryTakeUsed(out var e)) { got.Add(e); continue; }
            if (sw.Elapsed > limit)
                throw new TimeoutException($"queue {Index}: {got.Count} of {count} used elements after {limit.TotalSeconds} s (device status 0x{_driver.Status:x2})");
            spin.SpinOnce();
        }
        return got;
    }

    public UsedElement WaitOne(TimeSpan? timeout = null) => WaitUsed(1, timeout)[0];
}

/// <summary>A virtio-blk request in guest memory: its header, data buffers and status byte.</summary>
internal sealed class BlockRequest
{
    public const uint In = 0, Out = 1, Flush = 4, GetId = 8, Discard = 11, WriteZeroes = 13;
    public const byte Ok = 0, IoErr = 1, Unsupp = 2;

    public required ushort Head { get; init; }
    public required ulong StatusAddress { get; init; }
    public required IReadOnlyList<GuestBuffer> Data { get; init; }

    public byte Status(GuestMemory memory) => memory.ReadU8(StatusAddress);

    /// <summary>The device-writable data buffers, concatenated (the status byte left out).</summary>
    public byte[] ReadData(GuestMemory memory)
    {
        var bytes = new List<byte>();
        foreach (var b in Data.Where(d => d.Writable))
        {
            var chunk = new byte[b.Length];
            memory.Read(b.Address, chunk);
            bytes.AddRange(chunk);
        }
        return [.. bytes];
    }

    /// <summary>
    /// Builds and makes available one request: a 16-byte header, <paramref name="payload"/> as readable
    /// data (OUT, DISCARD, WRITE_ZEROES) or <paramref name="inLength"/> writable bytes (IN, GET_ID) cut
    /// into <paramref name="segments"/> buffers (at random points when <paramref name="random"/> is given),
    /// and the status byte (preset to 0xff), as its own buffer or sharing the last writable one.
    /// </summary>
    public static BlockRequest Submit(TestQueue q, uint type, ulong sector, byte[]? payload = null,
        int inLength = 0, int segments = 1, bool indirect = false, bool statusWithData = false, bool kick = true, Random? random = null)
    {
        var mem = q.Driver.Memory;
        var alloc = q.Driver.Allocator;
        var buffers = new List<GuestBuffer>();
        ulong header = alloc.Allocate(16, 8);
        Span<byte> h = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(h, type);
        BinaryPrimitives.WriteUInt64LittleEndian(h[8..], sector);
        mem.Write(header, h);
        buffers.Add(new GuestBuffer(header, 16, false));
        var data = new List<GuestBuffer>();
        bool writable = payload is null;
        int length = payload?.Length ?? inLength;
        bool shareStatus = statusWithData && writable && length > 0;
        ulong area = length > 0 || shareStatus ? alloc.Allocate((ulong)length + 1, 8) : 0;
        if (payload is not null) mem.Write(area, payload);
        foreach (var (start, len) in Cut(length, segments, random))
        {
            bool last = start + len == length;
            uint blen = (uint)len + (shareStatus && last ? 1u : 0u);
            data.Add(new GuestBuffer(area + (ulong)start, blen, writable));
        }
        ulong status;
        if (shareStatus)
        {
            status = area + (ulong)length;
            // The status byte rides in the last writable buffer; Data reports the data part only.
            var last = data[^1];
            data[^1] = last with { Length = last.Length - 1 };
            buffers.AddRange(data.Take(data.Count - 1));
            buffers.Add(last);
        }
        else
        {
            status = alloc.Allocate(1, 1);
            buffers.AddRange(data);
            buffers.Add(new GuestBuffer(status, 1, true));
        }
        mem.WriteU8(status, 0xff);
        ushort head = q.Add(buffers, indirect);
        if (kick) q.Kick();
        return new BlockRequest { Head = head, StatusAddress = status, Data = data };
    }

    private static IEnumerable<(int Start, int Length)> Cut(int length, int segments, Random? random)
    {
        if (length == 0) yield break;
        segments = Math.Clamp(segments, 1, length);
        var points = new SortedSet<int> { 0, length };
        if (random is null)
            for (int i = 1; i < segments; i++) points.Add(length * i / segments);
        else
            while (points.Count < segments + 1) points.Add(random.Next(1, length));
        var list = points.ToList();
        for (int i = 0; i + 1 < list.Count; i++) yield return (list[i], list[i + 1] - list[i]);
    }

    /// <summary>The data of a DISCARD or WRITE_ZEROES request: (sector, count, flags) segments.</summary>
    public static byte[] Ranges(params (ulong Sector, uint Count, uint Flags)[] ranges)
    {
        var b = new byte[16 * ranges.Length];
        for (int i = 0; i < ranges.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16 * i), ranges[i].Sector);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(16 * i + 8), ranges[i].Count);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(16 * i + 12), ranges[i].Flags);
        }
        return b;
    }
}
