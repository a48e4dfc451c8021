using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Memory;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Vmm.Migration;

/// <summary>
/// The target's side of post-copy (see <see cref="MigrationProtocol"/>): marks the pages the source
/// listed as missing (<see cref="GuestMemory.Missing"/>; on KVM through userfaultfd too), sends a
/// PageRequest for each page a vCPU or the VMM waits for (on a thread of its own), installs the pages
/// arriving on the control connection, and on a lost source stops the machine on a clear error.
/// </summary>
internal sealed class PostCopyArrival
{
    private readonly VmMachine _machine;
    private readonly FrameStream _control;
    private readonly object _writeGate;
    private readonly MissingPages _missing;
    private readonly ConcurrentQueue<ulong> _requests = new();
    private readonly SemaphoreSlim _signal = new(0);
    private Thread? _writer;
    private volatile bool _stop;
    private long _requested;

    /// <summary>Marks <paramref name="runs"/> missing on <paramref name="machine"/> (not running yet); writes on
    /// <paramref name="control"/> go under <paramref name="writeGate"/>.</summary>
    /// <exception cref="VmmException">a run outside guest memory, or a KVM host without userfaultfd.</exception>
    public PostCopyArrival(VmMachine machine, FrameStream control, object writeGate, IReadOnlyList<(ulong Gpa, ulong Pages)> runs)
    {
        _machine = machine;
        _control = control;
        _writeGate = writeGate;
        _missing = new MissingPages(machine.Memory, Request);
        foreach (var (gpa, pages) in runs) _missing.MarkMissing(gpa, pages);
        Total = _missing.Remaining;
        if (machine.Vm.Hypervisor.Kind == BackendKind.Kvm) _missing.ServeFaults();
        machine.Memory.Missing = _missing;
    }

    /// <summary>Pages missing at the start.</summary>
    public long Total { get; }

    /// <summary>Pages asked for because someone waited for them.</summary>
    public long Requested => Interlocked.Read(ref _requested);

    /// <summary>Pages still missing.</summary>
    public long Remaining => _missing.Remaining;

    /// <summary>Why this target cannot run post-copy, or null when it can: KVM needs userfaultfd.</summary>
    public static string? WhyNot(IHypervisor hypervisor) => hypervisor.Kind == BackendKind.Kvm ? Userfault.Probe() : null;

    /// <summary>
    /// Reads the runs of a PostCopy frame into <paramref name="runs"/> (those of earlier frames already there): each of
    /// at least one page at a page-aligned address, and all of them together at most <paramref name="maxPages"/> pages
    /// (the reserved machine's memory), so that a peer can neither grow the list nor the marking loop past the guest.
    /// </summary>
    /// <exception cref="VmmException">a malformed payload or runs beyond the bound (operation migration-protocol).</exception>
    public static void ReadRuns(ReadOnlySpan<byte> payload, List<(ulong Gpa, ulong Pages)> runs, ulong maxPages)
    {
        if (payload.Length % 16 != 0)
            throw new VmmException($"a PostCopy frame of {payload.Length} bytes is not a whole number of runs", "migration-protocol");
        ulong total = 0;
        foreach (var (_, pages) in runs) total += pages;
        for (int i = 0; i < payload.Length; i += 16)
        {
            ulong gpa = BinaryPrimitives.ReadUInt64LittleEndian(payload[i..]);
            ulong pages = BinaryPrimitives.ReadUInt64LittleEndian(payload[(i + 8)..]);
            if (pages == 0 || (gpa & (GuestAddress.PageSize - 1)) != 0)
                throw new VmmException($"a PostCopy run 0x{gpa:x}+{pages} is empty or not page-aligned", "migration-protocol");
            if (pages > maxPages - total)
                throw new VmmException($"PostCopy runs claim more than the guest's {maxPages} pages (run 0x{gpa:x}+{pages} after {total})", "migration-protocol");
            total += pages;
            runs.Add((gpa, pages));
        }
    }

    /// <summary>Starts sending page requests (once the machine runs).</summary>
    public void StartRequests()
    {
        _writer = new Thread(WriteRequests) { IsBackground = true, Name = "post-copy page requests" };
        _writer.Start();
    }

    /// <summary>Installs the pages arriving until the source's Complete, then confirms with PostCopyDone and
    /// lifts the missing-page map.</summary>
    /// <exception cref="VmmException">the source aborted, broke the protocol, or completed with pages missing.</exception>
    public void Receive(ref byte[] buffer)
    {
        while (true)
        {
            var (cmd, len) = _control.Read(ref buffer);
            switch (cmd)
            {
                case MigrationCommand.Pages:
                    Install(buffer.AsSpan(0, len));
                    break;
                case MigrationCommand.Complete:
                    if (_missing.Remaining != 0)
                        throw new VmmException($"the source completed post-copy with {_missing.Remaining} pages missing", "migration-protocol");
                    StopRequests();
                    lock (_writeGate) _control.Write(MigrationCommand.PostCopyDone, ReadOnlySpan<byte>.Empty);
                    _machine.Memory.Missing = null;
                    _missing.Close();
                    return;
                case MigrationCommand.Abort:
                    throw new VmmException($"the source aborted: {Encoding.UTF8.GetString(buffer, 0, len)}", "migration-aborted");
                default:
                    throw new VmmException($"unexpected {cmd} during post-copy", "migration-protocol");
            }
        }
    }

    /// <summary>The source is gone with pages missing: guest memory is made unusable, every vCPU stops on an
    /// internal error naming the count, and the reason is returned.</summary>
    public string Fail()
    {
        string reason = $"post-copy lost the source with {_missing.Remaining} pages missing";
        _missing.Fail(reason);
        StopRequests();
        foreach (var v in _machine.Vcpus) v.Vcpu.Kick();
        _machine.WaitForExit(TimeSpan.FromSeconds(10));
        _missing.Close();
        return reason;
    }

    private void Install(ReadOnlySpan<byte> payload)
    {
        int offset = 0;
        while (offset < payload.Length)
        {
            var (gpa, encoding) = PageCodec.Decode(payload, ref offset, out var data);
            if (encoding == PageEncoding.Delta) throw new VmmException("a delta page during post-copy", "migration-protocol");
            _missing.Install(gpa, data);
        }
    }

    private void Request(ulong gpa)
    {
        Interlocked.Increment(ref _requested);
        _requests.Enqueue(gpa);
        _signal.Release();
    }

    private void StopRequests()
    {
        _stop = true;
        _signal.Release();
        _writer?.Join();
    }

    private void WriteRequests()
    {
        var batch = new byte[8 * 512];
        try
        {
            // Requests queued when post-copy ends still go (before PostCopyDone), so both sides count the same.
            while (!_stop || !_requests.IsEmpty)
            {
                _signal.Wait(50);
                int n = 0;
                while (n < 512 && _requests.TryDequeue(out ulong gpa))
                    BinaryPrimitives.WriteUInt64LittleEndian(batch.AsSpan(8 * n++), gpa);
                if (n == 0) continue;
                lock (_writeGate) _control.Write(MigrationCommand.PageRequest, batch.AsSpan(0, 8 * n));
                if (!_requests.IsEmpty) _signal.Release();
            }
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException or IOException)
        {
            // The connection is gone: the reading side sees it too and fails post-copy.
        }
    }
}
