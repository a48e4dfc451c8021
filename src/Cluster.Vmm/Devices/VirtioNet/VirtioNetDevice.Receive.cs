using System.Buffers;
using System.Buffers.Binary;
using Cluster.Vmm.Devices.Virtio;
using static Cluster.Vmm.Devices.VirtioNet.VirtioNetFeatures;

namespace Cluster.Vmm.Devices.VirtioNet;

/// <summary>The receive path: the thread that polls the tap, the bounded backlog, and the placement of frames into the
/// driver's buffers (merged or not). Every use of the receive queue is under <c>_rxGate</c>.</summary>
public sealed partial class VirtioNetDevice
{
    private void RxLoop()
    {
        var read = new byte[ReadBufferBytes];
        while (true)
        {
            lock (_rxGate) if (_stopping) return;
            bool readable;
            try { readable = _poller.Wait(_tap, wantFrames: true, timeoutMs: -1); }
            catch (VmmException)
            {
                // The tap failed (its interface deleted): nothing more to receive, and the driver is told.
                _counters.Add(NetCounter.RxErrors);
                LinkUp = false;
                return;
            }
            if (readable && !Drain(read))
            {
                LinkUp = false;
                return;
            }
            lock (_rxGate)
            {
                if (_stopping) return;
                if (!_paused) Deliver();
            }
        }
    }

    /// <summary>Reads what the tap holds (up to a batch) into the backlog, dropping what does not fit; false when the
    /// tap failed (its interface deleted): the device then receives nothing more.</summary>
    private bool Drain(byte[] read)
    {
        for (int i = 0; i < 64; i++)
        {
            int n;
            try { n = _tap.Read(read); }
            catch (VmmException)
            {
                _counters.Add(NetCounter.RxErrors);
                return false;
            }
            if (n < 0) return true;
            if (n < HeaderSize + EthernetHeader || read[1] != 0)
            {
                // Shorter than a header and an Ethernet header, or a GSO frame although no offload was enabled.
                _counters.Add(NetCounter.RxErrors);
                continue;
            }
            if (n - HeaderSize > MaxFrameBytes)
            {
                _counters.Add(NetCounter.RxOversize);
                continue;
            }
            lock (_rxGate)
            {
                // No driver to receive (not started, reset or broken): the frame is dropped at once, not kept for later.
                if (_backlog.Count >= BacklogFrames || _rx is null || _rxBroken)
                {
                    _counters.Add(NetCounter.RxDropped);
                    continue;
                }
                var frame = ArrayPool<byte>.Shared.Rent(n);
                read.AsSpan(0, n).CopyTo(frame);
                _backlog.Enqueue((frame, n));
                _counters.Max(NetCounter.RxBacklogPeak, _backlog.Count);
            }
        }
        _poller.Kick(); // more may be waiting: come back after delivering
        return true;
    }

    /// <summary>Moves backlog frames into the driver's receive buffers (under the gate), then raises the queue's
    /// interrupt if the driver wants one.</summary>
    private void Deliver()
    {
        var rx = _rx;
        if (rx is null || _rxBroken || _backlog.Count == 0) return;
        bool pushed = false;
        try
        {
            while (_backlog.TryPeek(out var entry))
            {
                var frame = entry.Frame.AsSpan(0, entry.Length);
                if (!_rxMode.Accepts(frame.Slice(HeaderSize, 6), _mac))
                {
                    _counters.Add(NetCounter.RxFiltered);
                    Release(_backlog.Dequeue());
                    continue;
                }
                var outcome = Place(rx, frame);
                if (outcome == Placement.NoBuffers)
                {
                    if (rx.ArmNotification()) continue; // buffers arrived meanwhile
                    break;
                }
                if (outcome == Placement.Delivered)
                {
                    pushed = true;
                    _counters.Add(NetCounter.RxFrames);
                    _counters.Add(NetCounter.RxBytes, entry.Length - HeaderSize);
                }
                else _counters.Add(NetCounter.RxOversize);
                Release(_backlog.Dequeue());
            }
            if (pushed && rx.NeedsInterrupt()) SignalQueue(RxQueue);
        }
        catch (Exception e) when (e is VirtioQueueException or VmmException)
        {
            ReportQueueError(e is VirtioQueueException ? e.Message : $"queue {RxQueue}: {e.Message}");
        }
    }

    private enum Placement { Delivered, NoBuffers, TooLarge }

    /// <summary>Writes one frame (its header first) into as many receive chains as it needs (one without MRG_RXBUF),
    /// and returns them to the used ring together; gives the chains back untouched when there are not enough.</summary>
    private Placement Place(Virtqueue rx, Span<byte> frame)
    {
        frame[..HeaderSize].Clear();
        ushort start = rx.NextAvail;
        var used = new List<(ushort Head, uint Length)>();
        DescriptorChain? first = null;
        int written = 0;
        while (written < frame.Length)
        {
            if (!rx.TryPop(out var chain))
            {
                rx.NextAvail = start;
                return Placement.NoBuffers;
            }
            if (chain!.ReadableLength != 0) throw new VirtioQueueException($"queue {RxQueue}: a receive chain with {chain.ReadableLength} device-readable bytes");
            ulong room = chain.WritableLength;
            if (first is null && room < HeaderSize) throw new VirtioQueueException($"queue {RxQueue}: a receive chain of {room} bytes has no room for the header");
            first ??= chain;
            if (!_mergeable && room < (ulong)frame.Length)
            {
                // A frame larger than the driver's buffer: dropped, the buffer stays the driver's.
                rx.NextAvail = start;
                return Placement.TooLarge;
            }
            if (used.Count == rx.Size - 1 && room < (ulong)(frame.Length - written))
            {
                rx.NextAvail = start; // the whole ring would not hold it
                return Placement.TooLarge;
            }
            int n = (int)Math.Min(room, (ulong)(frame.Length - written));
            used.Add((chain.Head, (uint)n));
            if (chain != first) chain.Write(Memory, 0, frame.Slice(written, n));
            written += n;
        }
        // The header's num_buffers, then the first chain's bytes (header included) are written last.
        BinaryPrimitives.WriteUInt16LittleEndian(frame[NumBuffersOffset..], (ushort)used.Count);
        first!.Write(Memory, 0, frame[..(int)used[0].Length]);
        CountDma(frame.Length);
        foreach (var (head, length) in used) rx.Push(head, length);
        return Placement.Delivered;
    }

    private void ClearBacklog()
    {
        while (_backlog.TryDequeue(out var entry)) Release(entry);
    }

    private static void Release((byte[] Frame, int Length) entry) => ArrayPool<byte>.Shared.Return(entry.Frame);
}
