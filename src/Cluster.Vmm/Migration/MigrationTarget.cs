using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Memory;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Vmm.Migration;

/// <summary>Tunables and hooks of a migration target.</summary>
public sealed record MigrationTargetOptions
{
    /// <summary>The most guest memory this target accepts.</summary>
    public ulong MaxMemoryBytes { get; init; } = 64UL << 30;

    /// <summary>The limit on each blocking send or receive once the source has connected.</summary>
    public TimeSpan IoTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one connection may take for its TLS handshake and token before it is dropped (alone).</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Creates the (paused) machine from the reserved config; default <see cref="VmMachine.Create"/> on the target's hypervisor.</summary>
    public Func<MachineConfig, VmMachine>? CreateMachine { get; init; }

    /// <summary>Called with the new machine before any page arrives (for example to subscribe to its console).</summary>
    public Action<VmMachine>? MachineCreated { get; init; }

    /// <summary>Called as soon as the VM runs here: at the end of a pre-copy migration, at the start of post-copy's
    /// page fetching (<see cref="MigrationTarget.ReceiveAsync"/> returns once every page is here).</summary>
    public Action<VmMachine>? Resumed { get; init; }

    /// <summary>
    /// Asked when the commit's outcome is unknown here: the target sent Ready, and the source's Resume did not come (a lost
    /// connection, a timeout, a cancellation; not an Abort, which says the source did not commit). The machine stays
    /// restored and paused, its connections closed, until the answer: true (the ownership moved here) resumes it, false (or
    /// an exception) frees it. Null: it is freed at once, as on any failure. Pre-copy only: in post-copy the source holds the
    /// missing pages, so a lost source leaves nothing here to run.
    /// </summary>
    public Func<Task<bool>>? ResolveCommit { get; init; }
}

/// <summary>What a migration target achieved.</summary>
public sealed record MigrationTargetResult
{
    /// <summary>Whether the VM runs here now.</summary>
    public bool Succeeded { get; init; }

    /// <summary>Why not; null on success.</summary>
    public string? FailureReason { get; init; }

    /// <summary>The running machine on success (the caller owns it); null on failure (it was disposed), except
    /// when post-copy lost the source: then the stopped machine, whose exit says why (the caller owns it).</summary>
    public VmMachine? Machine { get; init; }

    /// <summary>Bytes received on all connections.</summary>
    public long BytesReceived { get; init; }

    /// <summary>Page records applied.</summary>
    public long PagesReceived { get; init; }

    /// <summary>From the snapshot's arrival to the vCPUs resuming (the target's share of the downtime).</summary>
    public TimeSpan RestoreTime { get; init; }

    /// <summary>Pages missing when the VM started running here (post-copy); 0 for pre-copy.</summary>
    public long PostCopyPages { get; init; }

    /// <summary>Pages requested from the source because a vCPU or the VMM waited for them (post-copy).</summary>
    public long PagesRequested { get; init; }

    /// <summary>Connections dropped because they did not authenticate (strangers; see <see cref="MigrationListener"/>).</summary>
    public int ConnectionsRefused { get; init; }

    /// <summary>What the source's control connection ran over ("Tls13 TLS_AES_128_GCM_SHA256", "plaintext"); null when none authenticated.</summary>
    public string? Transport { get; init; }
}

/// <summary>
/// The receiving side of a live migration (see <see cref="MigrationProtocol"/>): accepts the
/// source's connections on a listener, each authenticated by TLS and the one-time token of its
/// <see cref="MigrationIdentity"/> (<see cref="MigrationListener"/>: strangers are dropped alone), checks the
/// Hello (protocol version, backend kind, CPU vendor and features, and the machine it describes against the one
/// reserved here: <see cref="ReservedMachine"/>) and refuses with a reason when it does not fit, creates
/// the reserved machine paused (never one the peer describes), applies the pages arriving on every connection straight into guest memory,
/// loads the snapshot, reports Ready and runs the VM on Resume; in post-copy it runs the VM before
/// every page is here and fetches the rest (<see cref="PostCopyArrival"/>). On any failure before
/// Resume its connections are closed and its page readers joined before its machine is disposed (no reader writes
/// into unmapped memory), and the VM never ran here; when post-copy loses the source, the
/// machine is stopped on an internal error and returned.
/// </summary>
public sealed class MigrationTarget
{
    private readonly IHypervisor _hypervisor;
    private readonly MachineConfig _reserved;
    private readonly MigrationTargetOptions _options;

    /// <summary>A target that creates the machine <paramref name="reserved"/> (what its node asked it to receive) on
    /// <paramref name="hypervisor"/>, once a source whose Hello describes the same machine has connected.</summary>
    public MigrationTarget(IHypervisor hypervisor, MachineConfig reserved, MigrationTargetOptions? options = null)
    {
        _hypervisor = hypervisor ?? throw new ArgumentNullException(nameof(hypervisor));
        _reserved = reserved ?? throw new ArgumentNullException(nameof(reserved));
        _options = options ?? new MigrationTargetOptions();
    }

    /// <summary>Receives one migration from the source that authenticates with <paramref name="identity"/>'s credentials
    /// on <paramref name="listener"/> (started by the caller, who stops it and disposes the identity afterwards).</summary>
    public Task<MigrationTargetResult> ReceiveAsync(TcpListener listener, MigrationIdentity identity, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(listener);
        ArgumentNullException.ThrowIfNull(identity);
        return Task.Factory.StartNew(() => new Session(this, listener, identity, ct).Run(),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Why <paramref name="hello"/> does not fit this target, or null when it does.</summary>
    public string? CheckCompatibility(MigrationHello hello)
    {
        ArgumentNullException.ThrowIfNull(hello);
        if (hello.Backend != _hypervisor.Kind)
            return $"backend mismatch: the VM runs on {hello.Backend}, this host offers {_hypervisor.Kind}";
        if (hello.Cpu.Vendor != _hypervisor.CpuModel.Vendor)
            return $"CPU vendor mismatch: the VM sees {hello.Cpu.Vendor}, this host offers {_hypervisor.CpuModel.Vendor}";
        var missing = hello.Cpu.Features.Except(_hypervisor.CpuModel.Features, StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
            return $"CPU features missing on this host: {string.Join(", ", missing)}";
        if (ReservedMachine.Difference(_reserved, hello.Config) is { } difference)
            return difference;
        if (hello.Config.MemoryBytes > _options.MaxMemoryBytes)
            return $"the VM's {hello.Config.MemoryBytes} bytes of memory exceed this target's limit of {_options.MaxMemoryBytes}";
        if (hello.Config.Vcpus < 1 || hello.Config.Vcpus > _hypervisor.MaxVcpus)
            return $"the VM's {hello.Config.Vcpus} vCPUs exceed this host's limit of {_hypervisor.MaxVcpus}";
        if (hello.Connections < 1 || hello.Connections > MigrationHello.MaxConnections)
            return $"{hello.Connections} connections requested; 1..{MigrationHello.MaxConnections} are allowed";
        return null;
    }

    /// <summary>One incoming migration.</summary>
    private sealed class Session
    {
        private readonly MigrationTarget _owner;
        private readonly TcpListener _listener;
        private readonly MigrationIdentity _identity;
        private readonly CancellationToken _ct;
        private readonly List<FrameStream> _streams = [];
        private readonly object _syncGate = new();
        private readonly List<uint> _synced = [];
        private readonly List<Task> _readers = [];
        private readonly object _writeGate = new();
        private readonly List<(ulong Gpa, ulong Pages)> _missingRuns = [];
        private bool _postCopy;
        private VmMachine? _machine;
        private MigrationListener? _incoming;
        private long _pages;
        private bool _closed;
        private string? _transport;

        public Session(MigrationTarget owner, TcpListener listener, MigrationIdentity identity, CancellationToken ct)
        {
            _owner = owner;
            _listener = listener;
            _identity = identity;
            _ct = ct;
        }

        private MigrationTargetOptions Options => _owner._options;

        public MigrationTargetResult Run()
        {
            var result = Receive();
            string? transport;
            lock (_streams) transport = _streams.Count > 0 ? _transport : null;
            return result with { ConnectionsRefused = _incoming?.Rejected ?? 0, Transport = transport };
        }

        private MigrationTargetResult Receive()
        {
            using var onCancel = _ct.Register(CloseAll);
            try
            {
                _incoming = new MigrationListener(_listener, _identity, Options.HandshakeTimeout, Options.IoTimeout);
                var control = Accept();
                byte[] buffer = new byte[4096];
                var (cmd, len) = control.Read(ref buffer);
                if (cmd != MigrationCommand.Hello)
                    throw new VmmException($"the source opened with {cmd}, not Hello", "migration-protocol");
                MigrationHello hello;
                try { hello = MigrationHello.FromBytes(buffer.AsSpan(0, len)); }
                catch (VmmException e) { return Refuse(control, e.Message); }
                if (_owner.CheckCompatibility(hello) is { } why) return Refuse(control, why);
                // The reserved machine, never the one the Hello describes (they were just found equal, but the
                // peer's paths and arguments are not what is loaded).
                var config = _owner._reserved with { IncomingMigration = true };
                try { _machine = Options.CreateMachine?.Invoke(config) ?? VmMachine.Create(_owner._hypervisor, config); }
                catch (VmmException e) { return Refuse(control, $"cannot create the machine: {e.Message}"); }
                foreach (var slot in _machine.Memory.Slots) slot.Memory.AdviseHugePages();
                // The vCPU threads start now, while pages arrive, not on Resume inside the guest's pause (5-12 ms on a loaded host).
                _machine.PrepareVcpuThreads();
                Options.MachineCreated?.Invoke(_machine);
                string? noPostCopy = PostCopyArrival.WhyNot(_owner._hypervisor);
                var accept = new byte[4 + (noPostCopy is null ? 0 : Encoding.UTF8.GetByteCount(noPostCopy))];
                BitConverter.TryWriteBytes(accept, noPostCopy is null ? MigrationProtocol.AcceptPostCopy : 0u);
                if (noPostCopy is not null) Encoding.UTF8.GetBytes(noPostCopy, accept.AsSpan(4));
                control.Write(MigrationCommand.Accept, accept);

                for (int i = 1; i < hello.Connections; i++)
                {
                    var data = AcceptData(hello.Session);
                    int index = i - 1;
                    lock (_syncGate)
                    {
                        _synced.Add(uint.MaxValue);
                        _readers.Add(Task.Factory.StartNew(() => ReadPagesOrCloseAll(data, index), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
                    }
                }
                var stateBytes = ReadControlUntilState(control, ref buffer);
                Task[] readers;
                lock (_syncGate) readers = [.. _readers];
                try { Task.WaitAll(readers); }
                catch (AggregateException e) { throw e.InnerExceptions[0]; }

                var restoreClock = Stopwatch.StartNew();
                _machine.RestoreState(MachineSnapshot.FromBytes(stateBytes));
                // The source flushed and closed its disks before it sent the state: they are ours now.
                _machine.Devices.ActivateDisks();
                var arrival = _postCopy ? new PostCopyArrival(_machine, control, _writeGate, _missingRuns) : null;
                control.Write(MigrationCommand.Ready, ReadOnlySpan<byte>.Empty);
                if (AwaitResume(control, ref buffer, arrival is null) is { } unknown)
                    return ResumeIfCommitted(unknown, restoreClock);
                _machine.Resume();
                var restore = restoreClock.Elapsed;
                var machine = _machine;
                _machine = null;
                if (arrival is not null) return RunPostCopy(machine, control, arrival, restore, buffer);
                control.Write(MigrationCommand.Resumed, ReadOnlySpan<byte>.Empty);
                Options.Resumed?.Invoke(machine);
                return new MigrationTargetResult { Succeeded = true, Machine = machine, BytesReceived = BytesReceived, PagesReceived = Interlocked.Read(ref _pages), RestoreTime = restore };
            }
            catch (Exception e) when (e is VmmException or SocketException or IOException or ObjectDisposedException or OperationCanceledException)
            {
                return Failed(_ct.IsCancellationRequested ? "cancelled" : e.Message);
            }
            finally
            {
                // Close every connection, let the page readers see it and end, and only then free the machine:
                // a reader that still applied a page must not write into unmapped memory.
                _incoming?.Dispose();
                CloseAll();
                JoinReaders();
                _machine?.Dispose();
            }
        }

        /// <summary>
        /// Reads the source's answer to Ready: returns null on Resume; throws on Abort (the source did not commit) and, without
        /// <see cref="MigrationTargetOptions.ResolveCommit"/> (or in post-copy), on any failure; else returns why the outcome
        /// is unknown.
        /// </summary>
        private string? AwaitResume(FrameStream control, ref byte[] buffer, bool resolvable)
        {
            try
            {
                var (cmd, len) = control.Read(ref buffer);
                if (cmd == MigrationCommand.Abort)
                    throw new VmmException($"the source aborted: {Encoding.UTF8.GetString(buffer, 0, len)}", "migration-aborted");
                if (cmd != MigrationCommand.Resume)
                    throw new VmmException($"the source sent {cmd} where Resume was expected", "migration-protocol");
                return null;
            }
            catch (Exception e) when (resolvable && Options.ResolveCommit is not null && e is not VmmException { Operation: "migration-aborted" }
                && e is VmmException or SocketException or IOException or ObjectDisposedException or OperationCanceledException)
            {
                return _ct.IsCancellationRequested ? "cancelled" : e.Message;
            }
        }

        /// <summary>
        /// Ready was sent and the source's Resume did not come: the machine stays paused, the connections are closed (the
        /// source stops waiting for Resumed), and <see cref="MigrationTargetOptions.ResolveCommit"/> says whether the
        /// ownership moved here: then the machine resumes, else it is freed.
        /// </summary>
        private MigrationTargetResult ResumeIfCommitted(string unknown, Stopwatch restoreClock)
        {
            CloseAll();
            bool committed;
            string why;
            try
            {
                committed = Options.ResolveCommit!().GetAwaiter().GetResult();
                why = "the commit was not written";
            }
            catch (Exception e)
            {
                committed = false;
                why = $"the commit's outcome could not be learnt ({e.Message})";
            }
            if (!committed)
                return Failed($"no Resume after Ready ({unknown}), and {why}");
            _machine!.Resume();
            var restore = restoreClock.Elapsed;
            var machine = _machine;
            _machine = null;
            Options.Resumed?.Invoke(machine);
            return new MigrationTargetResult
            {
                Succeeded = true, Machine = machine, BytesReceived = BytesReceived, PagesReceived = Interlocked.Read(ref _pages), RestoreTime = restore,
            };
        }

        /// <summary>Waits for the page readers (their connections closed), whatever they ended with.</summary>
        private void JoinReaders()
        {
            Task[] readers;
            lock (_syncGate) readers = [.. _readers];
            foreach (var reader in readers)
            {
                try { reader.Wait(); }
                catch (AggregateException) { }
            }
        }

        /// <summary>The VM runs with pages missing: confirm Resume, fetch and install the rest. On a lost source
        /// the machine stops on an internal error and is returned with the failure.</summary>
        private MigrationTargetResult RunPostCopy(VmMachine machine, FrameStream control, PostCopyArrival arrival, TimeSpan restore, byte[] buffer)
        {
            string? failure = null;
            try
            {
                lock (_writeGate) control.Write(MigrationCommand.Resumed, ReadOnlySpan<byte>.Empty);
                arrival.StartRequests();
                Options.Resumed?.Invoke(machine);
                arrival.Receive(ref buffer);
            }
            catch (Exception e) when (e is VmmException or SocketException or IOException or ObjectDisposedException or OperationCanceledException)
            {
                failure = arrival.Fail();
            }
            Interlocked.Add(ref _pages, arrival.Total - arrival.Remaining);
            return new MigrationTargetResult
            {
                Succeeded = failure is null, FailureReason = failure, Machine = machine, BytesReceived = BytesReceived,
                PagesReceived = Interlocked.Read(ref _pages), RestoreTime = restore, PostCopyPages = arrival.Total, PagesRequested = arrival.Requested,
            };
        }

        private long BytesReceived { get { lock (_streams) return _streams.Sum(s => s.BytesRead); } }

        /// <summary>Keeps <paramref name="stream"/> for <see cref="CloseAll"/>; closes it at once when the session already closed.</summary>
        private FrameStream Track(FrameStream stream)
        {
            lock (_streams)
            {
                if (_closed)
                {
                    stream.Dispose();
                    throw new ObjectDisposedException("the incoming migration", "the migration ended");
                }
                _streams.Add(stream);
            }
            return stream;
        }

        /// <summary>The control connection: the first that authenticates, however many strangers came before.</summary>
        private FrameStream Accept()
        {
            var control = Track(_incoming!.Next(null, _ct));
            _transport = control.Transport;
            return control;
        }

        private FrameStream AcceptData(ulong session)
        {
            var stream = Track(_incoming!.Next(Options.IoTimeout, _ct));
            byte[] buffer = new byte[16];
            var (cmd, len) = stream.Read(ref buffer);
            if (cmd != MigrationCommand.DataHello || len != 12 || BitConverter.ToUInt64(buffer, 0) != session)
                throw new VmmException("a data connection did not open with this session's DataHello", "migration-protocol");
            return stream;
        }

        /// <summary>Applies pages from connection 0 until the snapshot arrives; returns its bytes.</summary>
        private byte[] ReadControlUntilState(FrameStream control, ref byte[] buffer)
        {
            bool complete = false;
            while (true)
            {
                var (cmd, len) = control.Read(ref buffer);
                switch (cmd)
                {
                    case MigrationCommand.Pages when !complete:
                        ApplyPages(buffer.AsSpan(0, len));
                        break;
                    case MigrationCommand.Complete when !complete:
                        complete = true;
                        break;
                    case MigrationCommand.Sync when !complete && len == 4:
                        WaitForDataSync(BitConverter.ToUInt32(buffer, 0));
                        control.Write(MigrationCommand.Synced, buffer.AsSpan(0, 4));
                        break;
                    case MigrationCommand.PostCopy when complete:
                        _postCopy = true;
                        PostCopyArrival.ReadRuns(buffer.AsSpan(0, len), _missingRuns, _owner._reserved.MemoryBytes / GuestAddress.PageSize);
                        break;
                    case MigrationCommand.State when complete:
                        return buffer.AsSpan(0, len).ToArray();
                    case MigrationCommand.Abort:
                        throw new VmmException($"the source aborted: {Encoding.UTF8.GetString(buffer, 0, len)}", "migration-aborted");
                    default:
                        throw new VmmException($"unexpected {cmd} on the control connection", "migration-protocol");
                }
            }
        }

        /// <summary>Reads a data connection to its Complete; on failure closes every connection so the
        /// control thread stops waiting too.</summary>
        private void ReadPagesOrCloseAll(FrameStream data, int index)
        {
            try { ReadPages(data, index, new byte[1 << 20]); }
            catch
            {
                CloseAll();
                throw;
            }
        }

        private void ReadPages(FrameStream data, int index, byte[] buffer)
        {
            while (true)
            {
                var (cmd, len) = data.Read(ref buffer);
                if (cmd == MigrationCommand.Complete) return;
                if (cmd == MigrationCommand.Sync && len == 4)
                {
                    lock (_syncGate)
                    {
                        _synced[index] = BitConverter.ToUInt32(buffer, 0);
                        Monitor.PulseAll(_syncGate);
                    }
                    continue;
                }
                if (cmd != MigrationCommand.Pages)
                    throw new VmmException($"unexpected {cmd} on a data connection", "migration-protocol");
                ApplyPages(buffer.AsSpan(0, len));
            }
        }

        /// <summary>Waits until every data connection has reached Sync(<paramref name="round"/>), failing
        /// when one of them has failed or the I/O timeout passes.</summary>
        private void WaitForDataSync(uint round)
        {
            var deadline = DateTime.UtcNow + Options.IoTimeout;
            lock (_syncGate)
                while (_synced.Any(r => r != round))
                {
                    if (_readers.FirstOrDefault(t => t.IsFaulted) is { } failed) throw failed.Exception!.InnerExceptions[0];
                    if (DateTime.UtcNow > deadline) throw new VmmException($"the data connections did not reach round {round} in time", "migration-io");
                    Monitor.Wait(_syncGate, 50);
                }
        }

        /// <summary>Writes a Pages frame's records into guest memory and tells the memory's observers
        /// (the emulator's decoded-code cache) once per run of consecutive pages.</summary>
        private void ApplyPages(ReadOnlySpan<byte> payload)
        {
            var memory = _machine!.Memory;
            MemorySlot? slot = null;
            // The slot's mapping stays alive while this frame is written into it (a reader that got here after
            // the machine was freed fails on the lease instead of writing into unmapped memory).
            MemoryLease lease = default;
            try
            {
                ApplyPages(payload, memory, ref slot, ref lease);
            }
            finally
            {
                lease.Dispose();
            }
        }

        private void ApplyPages(ReadOnlySpan<byte> payload, GuestMemory memory, ref MemorySlot? slot, ref MemoryLease lease)
        {
            int offset = 0;
            long count = 0;
            ulong runStart = 0, runEnd = 0;
            while (offset < payload.Length)
            {
                var (gpa, encoding) = PageCodec.Decode(payload, ref offset, out var data);
                if (slot is null || !slot.Contains(gpa))
                {
                    slot = memory.FindSlot(gpa) ?? throw new VmmException($"page 0x{gpa:x} is outside the target's guest memory", "migration-pages");
                    lease.Dispose();
                    lease = default;
                    lease = slot.Memory.Lease();
                }
                var page = slot.Memory.AsSpan(gpa - slot.GuestPhysAddr, PageCodec.PageSize);
                switch (encoding)
                {
                    case PageEncoding.Zero:
                        if (!PageCodec.IsZero(page)) page.Clear();
                        break;
                    case PageEncoding.Full:
                        data.CopyTo(page);
                        break;
                    default:
                        Xbzrle.Decode(data, page);
                        break;
                }
                if (gpa != runEnd)
                {
                    if (runEnd > runStart) memory.MarkWritten(runStart, runEnd - runStart);
                    runStart = gpa;
                }
                runEnd = gpa + GuestAddress.PageSize;
                count++;
            }
            if (runEnd > runStart) memory.MarkWritten(runStart, runEnd - runStart);
            Interlocked.Add(ref _pages, count);
        }

        private MigrationTargetResult Refuse(FrameStream control, string reason)
        {
            try { control.WriteText(MigrationCommand.Refuse, reason); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException) { }
            return new MigrationTargetResult { Succeeded = false, FailureReason = $"refused: {reason}" };
        }

        private MigrationTargetResult Failed(string reason)
        {
            lock (_streams)
                if (_streams.Count > 0 && !_ct.IsCancellationRequested)
                {
                    try { _streams[0].WriteText(MigrationCommand.Abort, reason); }
                    catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException) { }
                }
            return new MigrationTargetResult { Succeeded = false, FailureReason = reason, BytesReceived = BytesReceived, PagesReceived = Interlocked.Read(ref _pages) };
        }

        private void CloseAll()
        {
            lock (_streams)
            {
                _closed = true;
                foreach (var s in _streams) s.Dispose();
            }
        }
    }
}
