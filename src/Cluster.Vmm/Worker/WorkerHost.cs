using System.Net.Sockets;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Native;

namespace Cluster.Vmm.Worker;

/// <summary>
/// A VMM worker: serves <see cref="WorkerProtocol"/> on <c>DIR/NAME.sock</c> for one VM on
/// a hypervisor and keeps <c>DIR/NAME.json</c> (<see cref="WorkerRecord"/>) up to date.
/// Accepts clients of one uid only (its own, or <see cref="WorkerHostOptions.ClientUid"/>), after dropping to
/// <see cref="WorkerHostOptions.RunAs"/> when given; a new client replaces the current one; a client that goes away
/// leaves the guest running. <see cref="Completion"/> ends after a Shutdown request.
/// </summary>
public sealed class WorkerHost : IDisposable
{
    private readonly WorkerHostOptions _options;

    /// <summary>The protocol version the connected client said in its Hello (0 before one).</summary>
    private volatile uint _clientVersion;
    private readonly IHypervisor _hypervisor;
    private readonly WorkerOutbox _outbox;
    private readonly WorkerVm _vm;
    private readonly DateTimeOffset _startedAt = DateTimeOffset.UtcNow;
    private readonly TaskCompletionSource<int> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _recordGate = new();
    private Socket? _listener;
    private Thread? _acceptThread;
    private Timer? _abandonCheck;
    private long _lastHeard = System.Diagnostics.Stopwatch.GetTimestamp();
    private int _disposed;

    /// <summary>A worker for <paramref name="options"/> running its VM on <paramref name="hypervisor"/> (which the caller keeps owning).</summary>
    public WorkerHost(WorkerHostOptions options, IHypervisor hypervisor)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _hypervisor = hypervisor ?? throw new ArgumentNullException(nameof(hypervisor));
        Name = options.Name ?? $"w-{Environment.ProcessId}";
        if (Name.Length == 0 || Name.IndexOfAny(['/', '\0']) >= 0 || Name.StartsWith('.'))
            throw new VmmException($"'{Name}' is not a worker name", "worker-start");
        var dir = Path.GetFullPath(options.RuntimeDirectory);
        SocketPath = Path.Combine(dir, Name + ".sock");
        RecordPath = Path.Combine(dir, Name + ".json");
        var console = new ConsoleHistory();
        _outbox = new WorkerOutbox(console);
        _vm = new WorkerVm(hypervisor, _outbox, console, options.RunLog is { Length: > 0 } runLog ? new WorkerRunLog(runLog) : null);
        _vm.Changed += WriteRecord;
    }

    /// <summary>The worker's name.</summary>
    public string Name { get; }

    /// <summary>The control socket's path.</summary>
    public string SocketPath { get; }

    /// <summary>The record's path.</summary>
    public string RecordPath { get; }

    /// <summary>Completes with the exit code (0) once a client asked for Shutdown and the VM is gone.</summary>
    public Task<int> Completion => _completion.Task;

    /// <summary>The VM (for tests).</summary>
    internal WorkerVm Vm => _vm;

    /// <summary>Creates the folder, binds and listens on the socket, writes the record, and starts accepting.</summary>
    /// <exception cref="VmmException">the socket cannot be bound (another worker of that name is alive, no permission).</exception>
    public void Start()
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(SocketPath)!);
            if (File.Exists(SocketPath)) RemoveStaleSocket();
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
            listener.Listen(4);
            _listener = listener;
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            throw new VmmException($"cannot listen on {SocketPath}: {e.Message}", "worker-start", inner: e);
        }
        WriteRecord();
        if (_options.RunAs is { } user)
            BecomeUser(user.Uid, user.Gid);
        if (Volatile.Read(ref _disposed) != 0)
        {
            // Disposed (a signal) while starting: leave nothing behind.
            _listener.Dispose();
            TryDelete(SocketPath);
            lock (_recordGate) TryDelete(RecordPath);
            return;
        }
        _acceptThread = new Thread(AcceptLoop) { Name = "worker-accept", IsBackground = true };
        _acceptThread.Start();
        if (_options.AbandonAfter is { } after)
        {
            var period = TimeSpan.FromTicks(Math.Clamp(after.Ticks / 10, TimeSpan.TicksPerMillisecond * 100, TimeSpan.TicksPerSecond * 10));
            _abandonCheck = new Timer(_ => CheckAbandoned(after), null, period, period);
        }
    }

    /// <summary>
    /// Drops to <paramref name="uid"/>:<paramref name="gid"/> after the socket is bound and before any client is served.
    /// The node (root) still connects to the socket; the worker keeps its open files (the hypervisor, its log, its socket).
    /// </summary>
    /// <exception cref="VmmException">a step failed: the worker must not serve as root when asked not to.</exception>
    private void BecomeUser(uint uid, uint gid)
    {
        try
        {
            UserSwitch.ShareDirectory(Path.GetDirectoryName(SocketPath)!, gid);
            UserSwitch.Chown(SocketPath, uid, gid);
            lock (_recordGate) UserSwitch.Chown(RecordPath, uid, gid);
            UserSwitch.DropTo(uid, gid);
        }
        catch (Exception e) when (e is VmmException or IOException or UnauthorizedAccessException)
        {
            _listener?.Dispose();
            TryDelete(SocketPath);
            lock (_recordGate) TryDelete(RecordPath);
            throw e as VmmException ?? new VmmException($"cannot become uid {uid}: {e.Message}", "worker-user", inner: e);
        }
    }

    /// <summary>
    /// A worker that has heard nothing from any node for <paramref name="after"/> (its node died and none re-attached;
    /// its guest paused long ago when the run permit lapsed) ends itself, so abandoned workers do not pile up.
    /// </summary>
    private void CheckAbandoned(TimeSpan after)
    {
        if (System.Diagnostics.Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastHeard)) < after || Volatile.Read(ref _disposed) != 0)
            return;
        Console.Error.WriteLine($"worker {Name}: no node for {after.TotalSeconds:0} s; shutting down");
        Dispose();
    }

    /// <summary>
    /// Warms an idle worker before it takes requests: runs the protocol's codec over a Create and an Info, and
    /// creates, runs to its end and frees a small machine of the built-in <c>hello</c> guest when it is there (the loader,
    /// the devices, the backend's VM and run paths get compiled), so that a Create and a Start later do not pay for the JIT.
    /// </summary>
    public void WarmUp()
    {
        var config = new Machine.MachineConfig { MemoryBytes = 2UL << 20, Image = new Machine.BuiltInGuestImage("hello") };
        var create = new WorkerCreate("warm-up", 0, config);
        WorkerCodec.Decode(WorkerCodec.Encode(w => w.Write(create)), r => r.ReadCreate());
        var info = _vm.Info(Name, _options.ProtocolVersion);
        WorkerCodec.Decode(WorkerCodec.Encode(w => w.Write(info)), r => r.ReadInfo());
        try
        {
            using var machine = Machine.Machine.Create(_hypervisor, config);
            machine.SaveState().ToBytes();
            // Run the guest to its end too: its first VM's first instructions, port writes and serial flush would otherwise be
            // compiled (JIT) between the node's Start and the guest's first byte.
            machine.Serial.Output += _ => { };
            machine.Start();
            if (!machine.WaitForExit(TimeSpan.FromSeconds(5)))
                machine.Stop();
        }
        catch (VmmException)
        {
            // No built-in guests next to this program: the codec is warm, the machine path is not.
        }
    }

    /// <summary>Detaches this process from its parent's session and process group (setsid), so that it
    /// outlives its parent and ignores the signals sent to the parent's group. False with the reason when not possible.</summary>
    public static bool DetachSession(out string? error)
    {
        if (Libc.setsid() >= 0)
        {
            error = null;
            return true;
        }
        int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        error = errno == 1 ? "already a process group leader" : $"setsid failed with errno {errno}";
        return false;
    }

    /// <summary>Stops accepting, closes the client, stops the guest, frees the machine and removes the socket and the record.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _abandonCheck?.Dispose();
        _listener?.Dispose();
        _vm.Dispose();
        _outbox.Channel?.Dispose();
        _outbox.Dispose();
        TryDelete(SocketPath);
        lock (_recordGate) TryDelete(RecordPath);
        _completion.TrySetResult(0);
    }

    private void RemoveStaleSocket()
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(SocketPath));
        }
        catch (SocketException)
        {
            File.Delete(SocketPath);
            return;
        }
        throw new VmmException($"a worker already listens on {SocketPath}", "worker-start");
    }

    private void AcceptLoop()
    {
        while (Volatile.Read(ref _disposed) == 0)
        {
            Socket socket;
            try { socket = _listener!.Accept(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
            var channel = new WorkerChannel(socket, _options.SendTimeout, acceptDescriptors: true);
            if (RefusalOf(socket) is { } why)
            {
                Refuse(socket, channel, why);
                continue;
            }
            var previous = _outbox.Channel;
            _outbox.Attach(channel);
            previous?.Dispose();
            new Thread(() => Serve(channel)) { Name = "worker-client", IsBackground = true }.Start();
        }
    }

    /// <summary>
    /// Sends the refusal and closes only once the peer has closed (or after two seconds): closing at once would make the
    /// peer's Hello, written meanwhile, fail with a broken pipe before it reads why (and a close with its Hello unread
    /// resets the connection), so the peer would see a vanished worker instead of the reason.
    /// </summary>
    private static void Refuse(Socket socket, WorkerChannel channel, string why)
    {
        try
        {
            channel.Write(WorkerMessageType.Error, 0, WorkerCodec.Encode(w => w.Write(why)));
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            channel.Dispose();
            return;
        }
        new Thread(() =>
        {
            try
            {
                socket.ReceiveTimeout = 2000;
                var sink = new byte[4096];
                while (socket.Receive(sink) > 0)
                {
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
            finally
            {
                channel.Dispose();
            }
        }) { Name = "worker-refusal", IsBackground = true }.Start();
    }

    /// <summary>Why the peer of <paramref name="socket"/> may not control this worker, or null when it may.</summary>
    internal string? RefusalOf(Socket socket)
    {
        uint expected = _options.ClientUid ?? PeerCredentials.OwnUid;
        try
        {
            var peer = PeerCredentials.Of(socket);
            return peer.Uid == expected ? null : $"refused: uid {peer.Uid} (pid {peer.Pid}) is not uid {expected}, which owns this worker";
        }
        catch (SocketException e)
        {
            return $"refused: the peer's credentials cannot be read ({e.Message})";
        }
    }

    private void Serve(WorkerChannel channel)
    {
        bool greeted = false;
        try
        {
            while (true)
            {
                var frame = channel.Read(out var descriptors);
                if (frame is not { } f) return;
                if (!greeted && f.Type != WorkerMessageType.Hello)
                {
                    foreach (var d in descriptors) d.Dispose();
                    throw new VmmException($"the client opened with {f.Type}, not Hello", "worker-protocol");
                }
                greeted = true;
                Interlocked.Exchange(ref _lastHeard, System.Diagnostics.Stopwatch.GetTimestamp());
                Dispatch(channel, f.Type, f.RequestId, f.Payload, descriptors);
                if (f.Type == WorkerMessageType.Shutdown) return;
            }
        }
        catch (Exception e) when (e is VmmException or SocketException or ObjectDisposedException or IOException)
        {
        }
        finally
        {
            _outbox.Detach(channel);
            channel.Dispose();
        }
    }

    /// <summary>Runs one request; the descriptors that came with it go to the VM (Create, ListenIncoming) or are closed.</summary>
    private void Dispatch(WorkerChannel channel, WorkerMessageType type, uint id, byte[] payload, List<Microsoft.Win32.SafeHandles.SafeFileHandle> descriptors)
    {
        byte[] reply;
        try
        {
            if (descriptors.Count > 0 && type is not (WorkerMessageType.Create or WorkerMessageType.ListenIncoming))
                throw new VmmException($"{type} takes no file descriptors; {descriptors.Count} came", "worker-protocol");
            switch (type)
            {
                case WorkerMessageType.MigrateOut:
                    StartMigrateOut(id, payload);
                    return;
                case WorkerMessageType.Shutdown:
                    _vm.Dispose();
                    Reply(channel, WorkerMessageType.Reply, id, []);
                    ThreadPool.QueueUserWorkItem(_ => Dispose());
                    return;
                default:
                    reply = Handle(type, id, payload, descriptors);
                    break;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            foreach (var d in descriptors) d.Dispose();
            string message = e is VmmException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            Reply(channel, WorkerMessageType.Error, id, WorkerCodec.Encode(w => w.Write(message)));
            return;
        }
        Reply(channel, WorkerMessageType.Reply, id, reply);
    }

    private byte[] Handle(WorkerMessageType type, uint id, byte[] payload, IReadOnlyList<Microsoft.Win32.SafeHandles.SafeFileHandle> descriptors)
    {
        switch (type)
        {
            case WorkerMessageType.Hello:
                _clientVersion = payload.Length >= 4 ? BitConverter.ToUInt32(payload) : 0;
                return WorkerCodec.Encode(w => { w.Write(_options.ProtocolVersion); w.Write(Environment.ProcessId); w.Write(Name); });
            case WorkerMessageType.Create:
                var create = WorkerCodec.Decode(payload, r => r.ReadCreate(descriptors, _options.ProtocolVersion));
                AdoptKvm(create.Kvm);
                _vm.Create(create);
                return [];
            case WorkerMessageType.Start: _vm.Start(); return [];
            case WorkerMessageType.Pause: _vm.Pause(); return [];
            case WorkerMessageType.Resume: _vm.Resume(); return [];
            case WorkerMessageType.Stop: _vm.Stop(); return [];
            case WorkerMessageType.SaveState: return _vm.SaveState();
            case WorkerMessageType.SerialInput:
                return BitConverter.GetBytes(_vm.SerialInput(payload));
            case WorkerMessageType.Stats:
                var stats = _vm.Stats();
                return WorkerCodec.Encode(w => w.Write(stats, _options.ProtocolVersion));
            case WorkerMessageType.Info:
                var info = _vm.Info(Name, _options.ProtocolVersion);
                return WorkerCodec.Encode(w => w.Write(info));
            case WorkerMessageType.RenewPermit:
                _vm.RenewPermit(TimeSpan.FromMilliseconds(WorkerCodec.Decode(payload, r => r.ReadInt64())));
                return [];
            case WorkerMessageType.MigrateCancel: _vm.MigrateCancel(); return [];
            case WorkerMessageType.CommitDone:
                var (ok, error) = WorkerCodec.Decode(payload, r => (r.ReadBoolean(), r.ReadString()));
                _vm.CommitDone(ok ? null : error);
                return [];
            case WorkerMessageType.ListenIncoming:
                var incoming = WorkerCodec.Decode(payload, r => r.ReadIncoming(descriptors, _options.ProtocolVersion));
                AdoptKvm(incoming.Kvm);
                var (port, credentials, _) = _vm.ListenIncoming(id, incoming, askCommit: _clientVersion >= 6 && _options.ProtocolVersion >= 6);
                return WorkerCodec.Encode(w => { w.Write(port); w.Write(credentials); });
            case WorkerMessageType.IncomingCancel: _vm.IncomingCancel(); return [];
            case WorkerMessageType.IncomingCommitResolved:
                _vm.IncomingCommitResolved(WorkerCodec.Decode(payload, r => { r.ReadUInt32(); return r.ReadBoolean(); }));
                return [];
            default:
                throw new VmmException($"{type} is not a request", "worker-protocol");
        }
    }

    /// <summary>Takes /dev/kvm from a request when this worker waits for it (<see cref="PassedKvm"/>); the request's descriptor is
    /// closed either way (the hypervisor keeps a duplicate).</summary>
    private void AdoptKvm(Microsoft.Win32.SafeHandles.SafeFileHandle? kvm)
    {
        if (kvm is null) return;
        try
        {
            if (_hypervisor is PassedKvm passed) passed.Adopt(kvm);
        }
        finally
        {
            kvm.Dispose();
        }
    }

    private void StartMigrateOut(uint id, byte[] payload)
    {
        var (host, port, options, credentials) = WorkerCodec.Decode(payload, r => (r.ReadString(), r.ReadInt32(), r.ReadMigrationOptions(), r.ReadCredentials()));
        _vm.MigrateOutAsync(id, host, port, options, credentials).ContinueWith(t =>
        {
            var result = t.Result;
            if (_outbox.Channel is { } current)
                Reply(current, WorkerMessageType.Reply, id, WorkerCodec.Encode(w => w.Write(result)));
        }, TaskScheduler.Default);
    }

    private static void Reply(WorkerChannel channel, WorkerMessageType type, uint id, byte[] payload)
    {
        try { channel.Write(type, id, payload); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException) { channel.Dispose(); }
    }

    private void WriteRecord()
    {
        lock (_recordGate)
        {
            if (Volatile.Read(ref _disposed) != 0) return;
            new WorkerRecord
            {
                Name = Name, Pid = Environment.ProcessId, Socket = SocketPath, ProtocolVersion = _options.ProtocolVersion,
                StartedAt = _startedAt, VmId = _vm.VmId, Epoch = _vm.Epoch, State = _vm.State,
            }.WriteTo(RecordPath);
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
