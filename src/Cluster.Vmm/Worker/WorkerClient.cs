using System.Collections.Concurrent;
using System.Net.Sockets;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Microsoft.Win32.SafeHandles;

namespace Cluster.Vmm.Worker;

/// <summary>
/// The node's side of <see cref="WorkerProtocol"/>: one connection to one worker. Every call waits at most
/// <see cref="CallTimeout"/> (migrations excepted: they end on their own I/O timeouts) and throws
/// <see cref="VmmException"/> when the worker refuses, does not answer, or is gone. Thread-safe; events
/// are raised on the client's reader thread (handlers must not call back into the client and wait).
/// </summary>
public sealed class WorkerClient : IDisposable
{
    private readonly WorkerChannel _channel;
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<byte[]>> _pending = new();
    private readonly ConcurrentDictionary<uint, IncomingListen> _incoming = new();
    private readonly ConcurrentDictionary<uint, Migration> _migrations = new();
    private readonly Thread _reader;
    private int _nextId;
    private int _gone;
    private string _goneReason = "the client was closed";

    private WorkerClient(Socket socket, string socketPath)
    {
        SocketPath = socketPath;
        _channel = new WorkerChannel(socket, TimeSpan.FromSeconds(30));
        _reader = new Thread(ReadLoop) { Name = "worker-client-reader", IsBackground = true };
    }

    /// <summary>The worker's socket.</summary>
    public string SocketPath { get; }

    /// <summary>The protocol version the worker speaks (<see cref="WorkerProtocol.Version"/> or one back).</summary>
    public uint WorkerVersion { get; private set; }

    /// <summary>The worker's process id.</summary>
    public int WorkerPid { get; private set; }

    /// <summary>The worker's name.</summary>
    public string WorkerName { get; private set; } = "";

    /// <summary>The longest a call waits for its reply.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether the connection is gone (see <see cref="Disconnected"/>).</summary>
    public bool IsDisconnected => Volatile.Read(ref _gone) != 0;

    /// <summary>Serial output: the absolute offset of its first byte, and the bytes.</summary>
    public event Action<long, byte[]>? SerialOutput;

    /// <summary>The machine ended.</summary>
    public event Action<MachineExit>? Exited;

    /// <summary>The run permit lapsed: the guest is paused until <see cref="RenewPermit"/> and <see cref="Resume"/>.</summary>
    public event Action? PermitLapsed;

    /// <summary>The connection is gone (the worker died, closed it, or this client was disposed); raised once, with why.</summary>
    public event Action<string>? Disconnected;

    /// <summary>Connects to the worker at <paramref name="socketPath"/>, exchanges Hello and checks the version:
    /// a worker of <see cref="WorkerProtocol.Version"/> or one version back is accepted.</summary>
    /// <exception cref="VmmException">no worker there, no answer within <paramref name="timeout"/>, refused, or another version.</exception>
    public static WorkerClient Connect(string socketPath, TimeSpan timeout)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cts.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            throw new VmmException($"cannot connect to the worker at {socketPath}: {e.Message}", "worker-connect", inner: e);
        }
        var client = new WorkerClient(socket, socketPath) { CallTimeout = timeout };
        client._reader.Start();
        try
        {
            var reply = client.Call(WorkerMessageType.Hello, BitConverter.GetBytes(WorkerProtocol.Version));
            var (version, pid, name) = WorkerCodec.Decode(reply, r => (r.ReadUInt32(), r.ReadInt32(), r.ReadString()));
            if (!WorkerProtocol.Accepts(version))
                throw new VmmException($"the worker at {socketPath} speaks protocol version {version}; this client speaks version {WorkerProtocol.Version} and accepts {WorkerProtocol.Version - 1} too", "worker-version");
            client.WorkerVersion = version;
            client.WorkerPid = pid;
            client.WorkerName = name;
            client.CallTimeout = TimeSpan.FromSeconds(30);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>The worker's state, with the console history.</summary>
    public WorkerInfo Info() => WorkerCodec.Decode(Call(WorkerMessageType.Info, []), r => r.ReadInfo());

    /// <summary>Creates the worker's VM (not started).</summary>
    /// <remarks>Disks with <see cref="DiskConfig.Files"/> go with their descriptors (SCM_RIGHTS) to a worker of version 2; a
    /// worker of version 1 gets the paths only and opens them itself. The caller keeps its descriptors (and may close them
    /// once this returns).</remarks>
    public void Create(WorkerCreate create)
    {
        RequireNics(create.Machine);
        Call(WorkerMessageType.Create, WorkerCodec.Encode(w => w.Write(create, WorkerVersion)), Descriptors(create.Kvm, create.Machine));
    }

    /// <summary>Starts the vCPUs.</summary>
    public void Start() => Call(WorkerMessageType.Start, []);

    /// <summary>Pauses the vCPUs.</summary>
    public void Pause() => Call(WorkerMessageType.Pause, []);

    /// <summary>Resumes the vCPUs (refused while the run permit is lapsed).</summary>
    public void Resume() => Call(WorkerMessageType.Resume, []);

    /// <summary>Stops the vCPUs for good; the worker stays until <see cref="Shutdown"/>.</summary>
    public void Stop() => Call(WorkerMessageType.Stop, []);

    /// <summary>The paused (or not yet started) machine's state, as <see cref="MachineSnapshotCodec"/> bytes.</summary>
    public byte[] SaveState() => Call(WorkerMessageType.SaveState, []);

    /// <summary>Sends bytes to the guest's serial console; returns how many fit in its receive FIFO.</summary>
    public int SendSerialInput(byte[] bytes) => BitConverter.ToInt32(Call(WorkerMessageType.SerialInput, bytes));

    /// <summary>The worker's resource use.</summary>
    public WorkerStats Stats() => WorkerCodec.Decode(Call(WorkerMessageType.Stats, []), r => r.ReadStats(WorkerVersion));

    /// <summary>The worker's resource use, without blocking the calling thread: the task completes on the reply (or faults with
    /// <see cref="VmmException"/> as <see cref="Stats"/> throws).</summary>
    public async Task<WorkerStats> StatsAsync()
    {
        var reply = await CallAsync(WorkerMessageType.Stats, []).ConfigureAwait(false);
        return WorkerCodec.Decode(reply, r => r.ReadStats(WorkerVersion));
    }

    /// <summary>Makes the run permit valid for <paramref name="validFor"/> from now (a lapsed guest still needs <see cref="Resume"/>).</summary>
    public void RenewPermit(TimeSpan validFor) => Call(WorkerMessageType.RenewPermit, PermitPayload(validFor));

    /// <summary><see cref="RenewPermit"/> without blocking the calling thread: the request is written at once (the worker counts
    /// the validity from when it reads it) and the task completes on the reply, or faults with <see cref="VmmException"/>.</summary>
    public Task RenewPermitAsync(TimeSpan validFor) => CallAsync(WorkerMessageType.RenewPermit, PermitPayload(validFor));

    private static byte[] PermitPayload(TimeSpan validFor) => BitConverter.GetBytes((long)validFor.TotalMilliseconds);

    /// <summary>Stops the guest, frees the machine and lets the worker exit 0.</summary>
    public void Shutdown() => Call(WorkerMessageType.Shutdown, []);

    /// <summary>
    /// Migrates the worker's running VM to the worker listening at <paramref name="host"/>:<paramref name="port"/>, which
    /// announced <paramref name="credentials"/> (see <see cref="MigrationCredentials"/>).
    /// <paramref name="commit"/> runs when the target is ready (ownership moves there: persist it); a throw aborts
    /// and the VM keeps running here. Cancelling <paramref name="ct"/> before the commit aborts too.
    /// </summary>
    /// <exception cref="VmmException">the worker refused to start the migration, or is gone.</exception>
    public async Task<MigrationResult> MigrateOutAsync(string host, int port, MigrationCredentials credentials, WorkerMigrationOptions options,
        IProgress<MigrationProgress>? progress, Func<CancellationToken, Task> commit, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(commit);
        uint id = NextId();
        _migrations[id] = new Migration(progress, commit, ct);
        try
        {
            var payload = WorkerCodec.Encode(w => { w.Write(host); w.Write(port); w.Write(options); w.Write(credentials); });
            var reply = Send(id, WorkerMessageType.MigrateOut, payload);
            using var onCancel = ct.Register(() => Task.Run(() =>
            {
                try { Call(WorkerMessageType.MigrateCancel, []); }
                catch (VmmException) { }
            }));
            var bytes = await reply.ConfigureAwait(false);
            return WorkerCodec.Decode(bytes, r => r.ReadMigrationResult());
        }
        finally
        {
            _migrations.TryRemove(id, out _);
        }
    }

    /// <summary>Has the (idle) worker listen for an incoming migration; the result carries the port, the credentials the source
    /// needs, and tasks for the outcome. Disks' files go as with <see cref="Create"/>.</summary>
    /// <exception cref="VmmException">the worker already has a VM, cannot bind, is of a protocol without NICs for a machine
    /// with NICs, or is gone.</exception>
    public IncomingListen ListenIncoming(WorkerIncoming incoming)
    {
        ArgumentNullException.ThrowIfNull(incoming);
        RequireNics(incoming.Machine);
        var listen = new IncomingListen(NextId());
        _incoming[listen.RequestId] = listen;
        try
        {
            var payload = WorkerCodec.Encode(w => w.Write(incoming, WorkerVersion));
            var reply = Wait(WorkerMessageType.ListenIncoming, listen.RequestId,
                Send(listen.RequestId, WorkerMessageType.ListenIncoming, payload, Descriptors(incoming.Kvm, incoming.Machine)));
            (listen.Port, listen.Credentials) = WorkerCodec.Decode(reply, r => (r.ReadInt32(), r.ReadCredentials()));
            return listen;
        }
        catch
        {
            _incoming.TryRemove(listen.RequestId, out _);
            throw;
        }
    }

    /// <summary>NICs travel from protocol version 4 on: a machine with NICs is not given to an older worker (one that outlived its
    /// node across an upgrade), rather than run without them.</summary>
    private void RequireNics(MachineConfig machine)
    {
        if (WorkerVersion < 4 && machine.Nics.Count > 0)
            throw new VmmException($"the worker speaks protocol {WorkerVersion}, which carries no NICs: a machine with NICs needs a current worker",
                "worker-version");
    }

    /// <summary>Stops the worker's incoming migration (before it resumed the VM).</summary>
    public void IncomingCancel() => Call(WorkerMessageType.IncomingCancel, []);

    /// <summary>Closes the connection; the worker and its guest keep running.</summary>
    public void Dispose()
    {
        _channel.Dispose();
        if (Thread.CurrentThread != _reader && _reader.IsAlive) _reader.Join(TimeSpan.FromSeconds(5));
        Gone("the client was closed");
    }

    private uint NextId()
    {
        uint id;
        do id = (uint)Interlocked.Increment(ref _nextId); while (id == 0);
        return id;
    }

    private byte[] Call(WorkerMessageType type, byte[] payload, IReadOnlyList<SafeFileHandle>? descriptors = null)
    {
        uint id = NextId();
        return Wait(type, id, Send(id, type, payload, descriptors));
    }

    /// <summary>A request whose reply is awaited, not waited for: no thread is held meanwhile (periodic requests of many
    /// guests at once, which blocked a thread-pool thread each for a round trip). On a timeout the reply is forgotten.</summary>
    private async Task<byte[]> CallAsync(WorkerMessageType type, byte[] payload)
    {
        uint id = NextId();
        var reply = Send(id, type, payload);
        try
        {
            return await reply.WaitAsync(CallTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _pending.TryRemove(id, out _);
            throw new VmmException($"the worker at {SocketPath} did not answer {type} within {CallTimeout.TotalSeconds:0.#} s", "worker-timeout");
        }
    }

    /// <summary>/dev/kvm and the machine's disks' files, for a worker that takes them (version 2 and later).</summary>
    private IReadOnlyList<SafeFileHandle> Descriptors(SafeFileHandle? kvm, MachineConfig machine)
    {
        var all = WorkerVersion >= 2 ? WorkerCodec.Descriptors(kvm, machine) : [];
        if (all.Count > Native.ScmRights.MaxFds)
            throw new VmmException($"{all.Count} disk files are more than the {Native.ScmRights.MaxFds} one request may pass", "worker-request");
        return all;
    }

    /// <summary>Waits for the reply to request <paramref name="id"/>; on a timeout the reply is forgotten.</summary>
    private byte[] Wait(WorkerMessageType type, uint id, Task<byte[]> reply)
    {
        try
        {
            if (!reply.Wait(CallTimeout) && _pending.TryRemove(id, out _))
                throw new VmmException($"the worker at {SocketPath} did not answer {type} within {CallTimeout.TotalSeconds:0.#} s", "worker-timeout");
            return reply.Result;
        }
        catch (AggregateException e) when (e.InnerException is VmmException inner)
        {
            throw new VmmException(inner.Message, inner.Operation, inner: inner);
        }
    }

    private Task<byte[]> Send(uint id, WorkerMessageType type, byte[] payload, IReadOnlyList<SafeFileHandle>? descriptors = null)
    {
        var tcs = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        if (IsDisconnected) tcs.TrySetException(GoneError());
        else
        {
            try { _channel.Write(type, id, payload, descriptors ?? []); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
            {
                Gone($"sending {type} failed: {e.Message}");
            }
        }
        // The caller waits on the completion source's own task: a blocked Wait is woken by the reader thread itself, while a
        // continuation in between would need a free thread-pool thread, which callers blocked on the pool (VM actors creating
        // guests at once) starve: each call then waited for the pool to inject a thread (seconds under a burst of creates).
        tcs.Task.ContinueWith(done => _pending.TryRemove(id, out var _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return tcs.Task;
    }

    private void ReadLoop()
    {
        string reason = "the worker closed the connection";
        try
        {
            while (_channel.Read() is { } frame) Handle(frame.Type, frame.RequestId, frame.Payload);
        }
        catch (Exception e) when (e is VmmException or SocketException or ObjectDisposedException or IOException)
        {
            reason = IsDisconnected ? _goneReason : $"the worker connection failed: {e.Message}";
        }
        Gone(reason);
    }

    private void Handle(WorkerMessageType type, uint id, byte[] payload)
    {
        switch (type)
        {
            case WorkerMessageType.Reply:
                if (_pending.TryGetValue(id, out var ok)) ok.TrySetResult(payload);
                break;
            case WorkerMessageType.Error:
                var message = WorkerCodec.Decode(payload, r => r.ReadString());
                if (id == 0) throw new VmmException($"the worker at {SocketPath} {message}", "worker-refused");
                if (_pending.TryGetValue(id, out var failed)) failed.TrySetException(new VmmException(message, "worker-request"));
                break;
            case WorkerMessageType.SerialOutput:
                SerialOutput?.Invoke(BitConverter.ToInt64(payload), payload[8..]);
                break;
            case WorkerMessageType.Exited:
                Exited?.Invoke(WorkerCodec.Decode(payload, r => r.ReadExit()));
                break;
            case WorkerMessageType.PermitLapsed:
                PermitLapsed?.Invoke();
                break;
            case WorkerMessageType.MigrationProgress:
                var progress = WorkerCodec.Decode(payload, r => r.ReadProgress());
                foreach (var m in _migrations.Values) m.Progress?.Report(progress);
                break;
            case WorkerMessageType.CommitRequest:
                uint migrationId = BitConverter.ToUInt32(payload);
                // On this thread, not the pool's: the guest is paused until the answer (the callback only starts the commit).
                if (_migrations.TryGetValue(migrationId, out var migration)) _ = CommitAsync(migration);
                else AnswerCommit("no migration of this client asked for a commit");
                break;
            case WorkerMessageType.IncomingCommitUnknown:
                // Answered off this thread: the journal read takes a while, and this thread reads the answer's reply.
                _incoming.TryGetValue(BitConverter.ToUInt32(payload), out var unknown);
                _ = ResolveIncomingCommitAsync(BitConverter.ToUInt32(payload), unknown);
                break;
            case WorkerMessageType.IncomingResumed:
                if (_incoming.TryGetValue(BitConverter.ToUInt32(payload), out var resumed)) resumed.OnResumed();
                break;
            case WorkerMessageType.IncomingFinished:
                var (listenId, result) = WorkerCodec.Decode(payload, r => (r.ReadUInt32(), r.ReadIncomingResult()));
                if (_incoming.TryRemove(listenId, out var finished)) finished.OnFinished(result);
                break;
            default:
                throw new VmmException($"the worker sent {type}, which a worker does not send", "worker-protocol");
        }
    }

    private async Task CommitAsync(Migration migration)
    {
        string? error = null;
        try { await migration.Commit(migration.Cancellation).ConfigureAwait(false); }
        catch (Exception e) { error = e.Message.Length > 0 ? e.Message : e.GetType().Name; }
        AnswerCommit(error);
    }

    /// <summary>Answers an IncomingCommitUnknown with what <see cref="IncomingListen.ResolveCommit"/> learns (false without one, or when it fails).</summary>
    private async Task ResolveIncomingCommitAsync(uint listenId, IncomingListen? listen)
    {
        bool committed;
        try { committed = listen?.ResolveCommit is { } resolve && await resolve().ConfigureAwait(false); }
        catch (Exception) { committed = false; }
        var reply = Send(NextId(), WorkerMessageType.IncomingCommitResolved, WorkerCodec.Encode(w => { w.Write(listenId); w.Write(committed); }));
        _ = reply.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Sends CommitDone without waiting for its (empty) reply: it may run on the reader thread, which reads that reply.</summary>
    private void AnswerCommit(string? error)
    {
        var reply = Send(NextId(), WorkerMessageType.CommitDone, WorkerCodec.Encode(w => { w.Write(error is null); w.Write(error ?? ""); }));
        reply.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private VmmException GoneError() => new($"the worker at {SocketPath} is gone: {_goneReason}", "worker-gone");

    private void Gone(string reason)
    {
        if (Interlocked.Exchange(ref _gone, 1) != 0) return;
        _goneReason = reason;
        _channel.Dispose();
        var error = GoneError();
        foreach (var p in _pending.Values) p.TrySetException(error);
        foreach (var l in _incoming.Values) l.OnGone(error);
        Disconnected?.Invoke(reason);
    }

    /// <summary>An outgoing migration of this client: where its progress and commit go.</summary>
    private sealed record Migration(IProgress<MigrationProgress>? Progress, Func<CancellationToken, Task> Commit, CancellationToken Cancellation);
}
