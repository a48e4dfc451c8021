using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Migration;

/// <summary>
/// The source's side of post-copy (see <see cref="MigrationProtocol"/>): the pages the target lacks,
/// sent from the paused machine on the control connection, those the target asks for (PageRequest,
/// read on a thread of their own) before any other, the rest in small background batches, then
/// Complete and the target's PostCopyDone. Pages go full or as zero markers, never as deltas: the
/// target discarded its stale copies.
/// </summary>
internal sealed class PostCopyPush
{
    /// <summary>Background pages per frame: small, so that a request waits for little ahead of it.</summary>
    private const int BatchPages = 16;

    private readonly IReadOnlyList<MemorySlot> _slots;
    private readonly ulong[][] _unsent;
    private readonly ConcurrentQueue<ulong> _requests = new();
    private readonly SemaphoreSlim _signal = new(0);
    private volatile Exception? _readerFailure;
    private volatile bool _done;
    private int _cursorSlot;
    private ulong _cursorWord;
    private long _onDemand;

    /// <summary>A push of the pages set in <paramref name="missing"/> (one bitmap per slot of <paramref name="slots"/>).</summary>
    public PostCopyPush(IReadOnlyList<MemorySlot> slots, ulong[][] missing)
    {
        _slots = slots;
        _unsent = missing;
        foreach (var words in missing)
            foreach (var w in words) Total += System.Numerics.BitOperations.PopCount(w);
        Remaining = Total;
    }

    /// <summary>Pages the target lacks at the start.</summary>
    public long Total { get; }

    /// <summary>Pages not sent yet.</summary>
    public long Remaining { get; private set; }

    /// <summary>Pages the target asked for (each at most once) because a vCPU or the VMM waited for them;
    /// the answer may have been a page already on its way.</summary>
    public long OnDemand => Interlocked.Read(ref _onDemand);

    /// <summary>The missing pages as runs of (gpa, page count), in PostCopy frames of at most <paramref name="maxRuns"/> runs each.</summary>
    public IEnumerable<byte[]> RunFrames(int maxRuns = 1 << 16)
    {
        var frame = new List<(ulong Gpa, ulong Pages)>();
        for (int s = 0; s < _slots.Count; s++)
        {
            ulong pages = _slots[s].Size >> GuestAddress.PageShift;
            ulong p = 0;
            while (p < pages)
            {
                if (!IsSet(s, p)) { p++; continue; }
                ulong start = p;
                while (p < pages && IsSet(s, p)) p++;
                frame.Add((_slots[s].GuestPhysAddr + (start << GuestAddress.PageShift), p - start));
                if (frame.Count == maxRuns)
                {
                    yield return Encode(frame);
                    frame.Clear();
                }
            }
        }
        yield return Encode(frame);
    }

    /// <summary>Pushes every page (requested ones first), sends Complete and waits for PostCopyDone.</summary>
    /// <exception cref="VmmException">the target aborted, broke the protocol or did not finish in time.</exception>
    public void Run(FrameStream control, TokenBucket bucket, TimeSpan timeout, Action<long> progress, CancellationToken ct)
    {
        var reader = new Thread(() => ReadRequests(control)) { IsBackground = true, Name = "post-copy requests" };
        reader.Start();
        var sender = new PageSender(control, bucket, cache: null);
        long lastReport = Environment.TickCount64;
        while (Remaining > 0)
        {
            ThrowIfReaderFailed();
            bool served = false;
            while (_requests.TryDequeue(out ulong gpa))
                if (Take(gpa) is { } page)
                {
                    sender.Send(_slots[page.Slot], page.Page, cacheable: false, ct);
                    served = true;
                }
            if (served) sender.Flush(ct);
            for (int n = 0; n < BatchPages && NextBackground() is { } page; n++)
                sender.Send(_slots[page.Slot], page.Page, cacheable: false, ct);
            sender.Flush(ct);
            if (Environment.TickCount64 - lastReport >= 100)
            {
                lastReport = Environment.TickCount64;
                progress(Remaining);
            }
        }
        control.Write(MigrationCommand.Complete, ReadOnlySpan<byte>.Empty);
        var deadline = DateTime.UtcNow + timeout;
        while (!_done)
        {
            ThrowIfReaderFailed();
            if (DateTime.UtcNow > deadline) throw new VmmException("the target did not confirm the end of post-copy in time", "migration-io");
            _signal.Wait(50, ct);
        }
        reader.Join();
    }

    private void ReadRequests(FrameStream control)
    {
        byte[] buffer = new byte[4096];
        try
        {
            while (true)
            {
                var (cmd, len) = control.Read(ref buffer);
                switch (cmd)
                {
                    case MigrationCommand.PageRequest when len % 8 == 0:
                        for (int i = 0; i < len; i += 8) _requests.Enqueue(BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(i)));
                        Interlocked.Add(ref _onDemand, len / 8);
                        _signal.Release();
                        break;
                    case MigrationCommand.PostCopyDone:
                        _done = true;
                        _signal.Release();
                        return;
                    case MigrationCommand.Abort:
                        throw new VmmException($"the target aborted: {Encoding.UTF8.GetString(buffer, 0, len)}", "migration-aborted");
                    default:
                        throw new VmmException($"the target sent {cmd} during post-copy", "migration-protocol");
                }
            }
        }
        catch (Exception e)
        {
            _readerFailure = e;
            _signal.Release();
        }
    }

    private void ThrowIfReaderFailed()
    {
        if (_readerFailure is { } e) throw e is VmmException ? e : new VmmException(e.Message, "migration-io", inner: e);
    }

    private bool IsSet(int slot, ulong page) => (_unsent[slot][page >> 6] & (1UL << (int)(page & 63))) != 0;

    /// <summary>Clears a requested page's bit; null when it was sent already or is not guest memory.</summary>
    private (int Slot, ulong Page)? Take(ulong gpa)
    {
        for (int s = 0; s < _slots.Count; s++)
        {
            if (!_slots[s].Contains(gpa)) continue;
            ulong p = (gpa - _slots[s].GuestPhysAddr) >> GuestAddress.PageShift;
            if (!IsSet(s, p)) return null;
            _unsent[s][p >> 6] &= ~(1UL << (int)(p & 63));
            Remaining--;
            return (s, p);
        }
        return null;
    }

    /// <summary>The next page not sent, in address order from where the last one was found.</summary>
    private (int Slot, ulong Page)? NextBackground()
    {
        for (; _cursorSlot < _slots.Count; _cursorSlot++, _cursorWord = 0)
        {
            var words = _unsent[_cursorSlot];
            for (; _cursorWord < (ulong)words.Length; _cursorWord++)
            {
                ulong w = words[_cursorWord];
                if (w == 0) continue;
                ulong page = (_cursorWord << 6) + (ulong)System.Numerics.BitOperations.TrailingZeroCount(w);
                words[_cursorWord] = w & (w - 1);
                Remaining--;
                return (_cursorSlot, page);
            }
        }
        return null;
    }

    private static byte[] Encode(List<(ulong Gpa, ulong Pages)> runs)
    {
        var bytes = new byte[runs.Count * 16];
        for (int i = 0; i < runs.Count; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 16), runs[i].Gpa);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 16 + 8), runs[i].Pages);
        }
        return bytes;
    }
}
