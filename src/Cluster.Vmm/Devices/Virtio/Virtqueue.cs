using System.Buffers.Binary;
using Cluster.Vmm.Memory;
using static Cluster.Vmm.Devices.Virtio.VirtioConstants;

namespace Cluster.Vmm.Devices.Virtio;

/// <summary>
/// A split virtqueue (virtio 1.x, 2.7): the descriptor table, the driver's available ring and the
/// device's used ring in guest memory, with indirect descriptors and event-index suppression when
/// negotiated. The driver programs it through the transport; once enabled, one I/O thread pops
/// chains and returns them. Everything the driver wrote is checked before use: a head or next index
/// out of range, a loop or chain longer than the queue, a nested or empty indirect table, a buffer
/// outside guest memory, a writable buffer before a readable one: each throws
/// <see cref="VirtioQueueException"/>, and the device then needs a reset.
/// </summary>
public sealed class Virtqueue(GuestMemory memory, int index, ushort maxSize)
{
    private const int DescriptorSize = 16;

    /// <summary>The queue's index within its device.</summary>
    public int Index { get; } = index;

    /// <summary>The largest size the device offers.</summary>
    public ushort MaxSize { get; } = maxSize;

    /// <summary>The size the driver chose (queue_size).</summary>
    public ushort Size { get; set; } = maxSize;

    /// <summary>The driver enabled the queue (queue_enable).</summary>
    public bool Enabled { get; set; }

    /// <summary>The MSI-X vector of the queue's interrupts (queue_msix_vector).</summary>
    public ushort MsixVector { get; set; } = NoVector;

    /// <summary>Guest-physical addresses of the descriptor table, available ring and used ring.</summary>
    public ulong DescTable { get; set; }

    /// <inheritdoc cref="DescTable"/>
    public ulong AvailRing { get; set; }

    /// <inheritdoc cref="DescTable"/>
    public ulong UsedRing { get; set; }

    /// <summary>The next available-ring entry the device will take (last_avail_idx).</summary>
    public ushort NextAvail { get; set; }

    /// <summary>The used ring's index as the device last published it.</summary>
    public ushort NextUsed { get; set; }

    /// <summary>The used index at the last interrupt decision (for event-index suppression).</summary>
    public ushort SignalledUsed { get; set; }

    /// <summary>Negotiated: VIRTIO_RING_F_EVENT_IDX.</summary>
    public bool EventIdx { get; set; }

    /// <summary>Negotiated: VIRTIO_RING_F_INDIRECT_DESC.</summary>
    public bool Indirect { get; set; }

    /// <summary>Back to the state after a device reset.</summary>
    public void Reset()
    {
        Size = MaxSize;
        Enabled = false;
        MsixVector = NoVector;
        DescTable = AvailRing = UsedRing = 0;
        NextAvail = NextUsed = SignalledUsed = 0;
    }

    /// <summary>Checks the rings the driver programmed before the queue is used.</summary>
    /// <exception cref="VirtioQueueException">a size that is zero, over the maximum or not a power of two, a misaligned
    /// ring, a ring outside guest memory.</exception>
    public void Validate()
    {
        if (Size == 0 || Size > MaxSize) throw new VirtioQueueException($"queue {Index}: size {Size} is not in 1..{MaxSize}");
        // Ring positions are the free-running 16-bit indices modulo the size: only a power of two divides 65536.
        if ((Size & (Size - 1)) != 0) throw new VirtioQueueException($"queue {Index}: size {Size} is not a power of two");
        Check(DescTable, (ulong)Size * DescriptorSize, 16, "descriptor table");
        Check(AvailRing, 6 + 2UL * Size, 2, "available ring");
        Check(UsedRing, 6 + 8UL * Size, 4, "used ring");
    }

    private void Check(ulong address, ulong length, ulong alignment, string what)
    {
        if (address % alignment != 0) throw new VirtioQueueException($"queue {Index}: {what} at 0x{address:x} is not aligned to {alignment}");
        if (!memory.IsBacked(address, length)) throw new VirtioQueueException($"queue {Index}: {what} at 0x{address:x}+0x{length:x} is outside guest memory");
    }

    /// <summary>Whether the driver has made chains available that the device has not taken.</summary>
    public bool HasAvailable() => ReadAvailIdx() != NextAvail;

    /// <summary>Takes the next available chain, or returns false when there is none.</summary>
    /// <exception cref="VirtioQueueException">the driver broke the rules (see the class summary).</exception>
    public bool TryPop(out DescriptorChain? chain)
    {
        chain = null;
        ushort availIdx = ReadAvailIdx();
        ushort pending = (ushort)(availIdx - NextAvail);
        if (pending == 0) return false;
        if (pending > Size) throw new VirtioQueueException($"queue {Index}: the driver claims {pending} new entries in a queue of {Size}");
        ushort head = ReadU16(AvailRing + 4 + 2UL * (ulong)(NextAvail % Size));
        chain = Walk(head);
        NextAvail++;
        return true;
    }

    /// <summary>Asks the driver to notify once it makes the next chain available (event index), or
    /// says whether more arrived meanwhile (true: pop again before sleeping).</summary>
    public bool ArmNotification()
    {
        if (EventIdx)
        {
            memory.WriteU16Release(UsedRing + 4 + 8UL * Size, NextAvail);
            Interlocked.MemoryBarrier();
        }
        return HasAvailable();
    }

    /// <summary>Returns chain <paramref name="head"/> with <paramref name="written"/> bytes written into its buffers.</summary>
    public void Push(ushort head, uint written)
    {
        Span<byte> element = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(element, head);
        BinaryPrimitives.WriteUInt32LittleEndian(element[4..], written);
        memory.Write(UsedRing + 4 + 8UL * (ulong)(NextUsed % Size), element);
        NextUsed++;
        memory.WriteU16Release(UsedRing + 2, NextUsed);
    }

    /// <summary>Whether the driver wants an interrupt for what was pushed since the last decision
    /// (the event index, or the available ring's NO_INTERRUPT flag).</summary>
    public bool NeedsInterrupt()
    {
        Interlocked.MemoryBarrier();
        ushort old = SignalledUsed, now = NextUsed;
        SignalledUsed = now;
        if (old == now) return false;
        if (EventIdx)
        {
            ushort usedEvent = memory.ReadU16Acquire(AvailRing + 4 + 2UL * Size);
            return (ushort)(now - usedEvent - 1) < (ushort)(now - old);
        }
        return (memory.ReadU16Acquire(AvailRing) & AvailNoInterrupt) == 0;
    }

    private ushort ReadAvailIdx()
    {
        ushort idx = memory.ReadU16Acquire(AvailRing + 2);
        Interlocked.MemoryBarrier();
        return idx;
    }

    private ushort ReadU16(ulong gpa)
    {
        Span<byte> b = stackalloc byte[2];
        memory.Read(gpa, b);
        return BinaryPrimitives.ReadUInt16LittleEndian(b);
    }

    private DescriptorChain Walk(ushort head)
    {
        if (head >= Size) throw new VirtioQueueException($"queue {Index}: head descriptor {head} is outside the table of {Size}");
        var segments = new List<DescriptorSegment>();
        ulong table = DescTable;
        uint tableSize = Size;
        bool inIndirect = false;
        uint index = head;
        int seen = 0;
        Span<byte> d = stackalloc byte[DescriptorSize];
        while (true)
        {
            if (++seen > tableSize) throw new VirtioQueueException($"queue {Index}: the chain from descriptor {head} loops or is longer than its table ({tableSize})");
            memory.Read(table + (ulong)index * DescriptorSize, d);
            ulong address = BinaryPrimitives.ReadUInt64LittleEndian(d);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(d[8..]);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(d[12..]);
            ushort next = BinaryPrimitives.ReadUInt16LittleEndian(d[14..]);
            if ((flags & DescIndirect) != 0)
            {
                if (!Indirect) throw new VirtioQueueException($"queue {Index}: an indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
                if (inIndirect) throw new VirtioQueueException($"queue {Index}: an indirect table inside an indirect table");
                if ((flags & DescNext) != 0) throw new VirtioQueueException($"queue {Index}: an indirect descriptor with NEXT set");
                if (length == 0 || length % DescriptorSize != 0 || length / DescriptorSize > 65536)
                    throw new VirtioQueueException($"queue {Index}: an indirect table of {length} bytes");
                if (!memory.IsBacked(address, length)) throw new VirtioQueueException($"queue {Index}: an indirect table at 0x{address:x}+0x{length:x} outside guest memory");
                table = address;
                tableSize = length / DescriptorSize;
                inIndirect = true;
                index = 0;
                seen = 0;
                continue;
            }
            bool writable = (flags & DescWrite) != 0;
            if (!writable && segments.Count > 0 && segments[^1].Writable)
                throw new VirtioQueueException($"queue {Index}: a readable buffer after a writable one in the chain from {head}");
            if (!memory.IsBacked(address, length)) throw new VirtioQueueException($"queue {Index}: a buffer at 0x{address:x}+0x{length:x} outside guest memory");
            segments.Add(new DescriptorSegment(address, length, writable));
            if ((flags & DescNext) == 0) break;
            if (next >= tableSize) throw new VirtioQueueException($"queue {Index}: next descriptor {next} is outside the table of {tableSize}");
            index = next;
        }
        return new DescriptorChain(head, segments);
    }
}
