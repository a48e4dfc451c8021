using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Devices.Virtio;

/// <summary>One buffer of a descriptor chain: guest-physical address, length, and whether the device
/// writes it (device-writable) or reads it.</summary>
public readonly record struct DescriptorSegment(ulong Address, uint Length, bool Writable);

/// <summary>
/// A request popped from a virtqueue: the head index (returned in the used ring) and its buffers,
/// readable ones first, then writable ones (the order virtio requires; the queue checks it). Every
/// buffer was checked to lie in guest memory when the chain was popped. Reads and writes address
/// the readable and the writable part as two flat byte ranges.
/// </summary>
public sealed class DescriptorChain(ushort head, IReadOnlyList<DescriptorSegment> segments)
{
    /// <summary>The index of the chain's first descriptor.</summary>
    public ushort Head { get; } = head;

    /// <summary>The buffers in order.</summary>
    public IReadOnlyList<DescriptorSegment> Segments { get; } = segments;

    /// <summary>Total bytes of the readable buffers.</summary>
    public ulong ReadableLength => Segments.Where(s => !s.Writable).Aggregate(0UL, (n, s) => n + s.Length);

    /// <summary>Total bytes of the writable buffers.</summary>
    public ulong WritableLength => Segments.Where(s => s.Writable).Aggregate(0UL, (n, s) => n + s.Length);

    /// <summary>Copies readable bytes from <paramref name="offset"/> of the readable part into
    /// <paramref name="destination"/>; returns how many there were (fewer at the end).</summary>
    public int Read(GuestMemory memory, ulong offset, Span<byte> destination) => Copy(memory, offset, destination.Length, writable: false, destination, default);

    /// <summary>Copies <paramref name="source"/> into the writable part from <paramref name="offset"/>;
    /// returns how many bytes fitted.</summary>
    public int Write(GuestMemory memory, ulong offset, ReadOnlySpan<byte> source) => Copy(memory, offset, source.Length, writable: true, default, source);

    /// <summary>A piece of the chain as guest memory: its address, the host memory behind it, and its
    /// offset inside the readable or writable part.</summary>
    public delegate void PieceAction(ulong gpa, Span<byte> hostMemory, ulong offset);

    /// <summary>
    /// Hands [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>) of the
    /// writable (or readable) part to <paramref name="action"/> piece by piece, as host spans of guest
    /// memory (split at buffer and memory-slot ends), for I/O without a copy. A caller that writes into
    /// the spans marks them with <see cref="GuestMemory.MarkWritten"/>. Returns false, calling nothing,
    /// when a piece would not start and end on a multiple of <paramref name="granule"/> (the caller then copies).
    /// </summary>
    public bool ForEachPiece(GuestMemory memory, bool writable, ulong offset, ulong length, int granule, PieceAction action)
    {
        var pieces = new List<(ulong Gpa, int Length, ulong Offset)>();
        ulong at = 0;
        foreach (var s in Segments)
        {
            if (s.Writable != writable || length == 0) continue;
            if (offset >= s.Length) { offset -= s.Length; continue; }
            ulong gpa = s.Address + offset, n = Math.Min(length, s.Length - offset);
            offset = 0;
            while (n > 0)
            {
                ulong end = memory.SlotEnd(gpa);
                if (end <= gpa) return false;
                int piece = (int)Math.Min(Math.Min(n, end - gpa), 1UL << 30);
                if (piece % granule != 0) return false;
                pieces.Add((gpa, piece, at));
                gpa += (ulong)piece;
                at += (ulong)piece;
                n -= (ulong)piece;
                length -= (ulong)piece;
            }
        }
        if (length != 0) return false;
        foreach (var (gpa, n, off) in pieces) action(gpa, memory.HostSpan(gpa, n), off);
        return true;
    }

    private int Copy(GuestMemory memory, ulong offset, int count, bool writable, Span<byte> into, ReadOnlySpan<byte> from)
    {
        int done = 0;
        foreach (var s in Segments)
        {
            if (s.Writable != writable) continue;
            if (offset >= s.Length) { offset -= s.Length; continue; }
            int n = (int)Math.Min((ulong)(count - done), s.Length - offset);
            if (writable) memory.Write(s.Address + offset, from.Slice(done, n));
            else memory.Read(s.Address + offset, into.Slice(done, n));
            done += n;
            offset = 0;
            if (done == count) break;
        }
        return done;
    }
}
