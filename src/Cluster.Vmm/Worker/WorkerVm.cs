using System.Net;
using System.Net.Sockets;
using Cluster.Vmm.Devices;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Cluster.Vmm.Storage;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Vmm.Worker;

/// <summary>
/// The one VM of a worker: its machine, console history, run permit and migrations, with the
/// requests of <see cref="WorkerProtocol"/> as methods. A request that does not fit the state throws
/// <see cref="VmmException"/> (the host replies Error). Events go through the <see cref="WorkerOutbox"/>.
/// Lifecycle requests are serialised on one gate; the machine's own events never take it.
/// </summary>
internal sealed class WorkerVm : IDisposable
{
    private static readonly TimeSpan PermitCheckPeriod = TimeSpan.FromMilliseconds(10);

    private readonly IHypervisor _hypervisor;
    private readonly WorkerOutbox _outbox;
    private readonly object _gate = new();
    private readonly RunPermit _permit = new();
    private readonly Timer _permitTimer;
    private int _permitChecked;
    private VmMachine? _machine;
    private string? _vmId;
    private long _epoch;
    private bool _incoming;
    private bool _migratedAway;
    private volatile bool _committedOut;
    private bool _lapsed;
    private CancellationTokenSource? _migration;
    private TaskCompletionSource<string?>? _commit;
    private TaskCompletionSource<bool>? _incomingCommit;
    private CancellationTokenSource? _incomingCts;
    private List<DiskFiles> _diskFiles = [];
    private bool _disposed;

    private readonly WorkerRunLog? _runLog;

    public WorkerVm(IHypervisor hypervisor, WorkerOutbox outbox, ConsoleHistory console, WorkerRunLog? runLog = null)
    {
        _runLog = runLog;
        _hypervisor = hypervisor;
        _outbox = outbox;
        Console = console;
        // Dormant until a permit is granted: an idle worker in the pool has nothing to check and should not wake 100 times a second.
        _permitTimer = new Timer(_ => CheckPermit(), null, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>The serial output so far.</summary>
    public ConsoleHistory Console { get; }

    /// <summary>Raised after a change worth recording in the worker's json file (VM id, state).</summary>
    public event Action? Changed;

    /// <summary>The machine, for tests in this assembly's test project.</summary>
    internal VmMachine? Machine => Volatile.Read(ref _machine);

    public string? VmId { get { lock (_gate) return _vmId; } }

    public long Epoch { get { lock (_gate) return _epoch; } }

    public WorkerVmState State
    {
        get
        {
            lock (_gate)
            {
                if (_migratedAway) return WorkerVmState.MigratedAway;
                if (_machine is null) return _incoming ? WorkerVmState.Incoming : WorkerVmState.Empty;
                return _machine.State switch
                {
                    MachineRunState.Created => WorkerVmState.Created,
                    MachineRunState.Running => WorkerVmState.Running,
                    MachineRunState.Paused => WorkerVmState.Paused,
                    _ => WorkerVmState.Finished,
                };
            }
        }
    }

    public void Create(WorkerCreate create)
    {
        lock (_gate)
        {
            RequireEmpty("create a VM");
            var machine = VmMachine.Create(_hypervisor, create.Machine);
            Adopt(machine, create.VmId, create.Epoch);
            _diskFiles = FilesOf(create.Machine);
            if (create.PermitRequired) GrantPermit(create.InitialPermit);
        }
        Changed?.Invoke();
    }

    public void Start()
    {
        lock (_gate)
        {
            var machine = RequireMachine("start");
            RequirePermit("start");
            machine.Start();
            _lapsed = false;
        }
        Changed?.Invoke();
    }

    public void Pause()
    {
        lock (_gate) RequireMachine("pause").Pause();
        Changed?.Invoke();
    }

    public void Resume()
    {
        lock (_gate)
        {
            var machine = RequireMachine("resume");
            RequirePermit("resume");
            machine.Resume();
            _lapsed = false;
        }
        Changed?.Invoke();
    }

    public void Stop()
    {
        lock (_gate) RequireMachine("stop").Stop();
        Changed?.Invoke();
    }

    public byte[] SaveState()
    {
        lock (_gate) return RequireMachine("save the state of").SaveState().ToBytes();
    }

    public int SerialInput(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            var machine = _machine ?? throw new VmmException("the worker has no VM to send console input to", "worker-state");
            return machine.Serial.Input(bytes);
        }
    }

    public WorkerStats Stats()
    {
        var machine = Volatile.Read(ref _machine);
        var cpu = TimeSpan.Zero;
        if (machine is not null)
            foreach (var v in machine.Vcpus) cpu += v.Vcpu.GuestTime;
        return new WorkerStats(State, cpu, Environment.WorkingSet) { Io = machine?.Devices.IoCounters() ?? IoCounters.Zero };
    }

    public WorkerInfo Info(string name, uint version)
    {
        var (offset, history) = Console.Read(0);
        var state = State;
        lock (_gate)
        {
            return new WorkerInfo
            {
                Name = name, Pid = Environment.ProcessId, ProtocolVersion = version, VmId = _vmId, Epoch = _epoch,
                State = state, Exit = _machine?.Exit, PermitLapsed = _lapsed, PermitRemaining = _permit.Remaining,
                ConsoleOffset = offset, ConsoleHistory = history,
            };
        }
    }

    public void RenewPermit(TimeSpan validFor) => GrantPermit(validFor);

    /// <summary>Grants the permit and, the first time, starts checking it every <see cref="PermitCheckPeriod"/>.</summary>
    private void GrantPermit(TimeSpan validFor)
    {
        _permit.Grant(validFor);
        if (Interlocked.Exchange(ref _permitChecked, 1) != 0) return;
        try
        {
            _permitTimer.Change(PermitCheckPeriod, PermitCheckPeriod);
        }
        catch (ObjectDisposedException)
        {
            // Shutting down: nothing left to check.
        }
    }

    /// <summary>Migrates the running VM; <paramref name="requestId"/> names it in the CommitRequest event.</summary>
    public Task<MigrationResult> MigrateOutAsync(uint requestId, string host, int port, WorkerMigrationOptions options, MigrationCredentials credentials)
    {
        CancellationTokenSource cts;
        VmMachine machine;
        lock (_gate)
        {
            machine = RequireMachine("migrate");
            if (machine.State != MachineRunState.Running)
                throw new VmmException($"cannot migrate a VM that is {State}: it must be running", "worker-state");
            _migration = cts = new CancellationTokenSource();
        }
        Task<MigrationResult> migrating;
        try
        {
            var endpoint = new IPEndPoint(Resolve(host), port);
            var source = new MigrationSource(machine, options.ToMigrationOptions(ct => CommitAsync(requestId, CommitAnswerWait, ct)));
            migrating = source.MigrateAsync(endpoint, credentials, new ProgressPoster(_outbox), cts.Token);
        }
        catch (Exception e) when (e is ArgumentException or SocketException or VmmException)
        {
            lock (_gate) _migration = null;
            cts.Dispose();
            throw new VmmException($"cannot start the migration: {e.Message}", "worker-migrate", inner: e);
        }
        return migrating.ContinueWith(t =>
        {
            var result = t.IsCompletedSuccessfully
                ? t.Result
                : new MigrationResult { FailureReason = $"the migration failed: {t.Exception?.InnerException?.Message}" };
            lock (_gate)
            {
                _migration = null;
                _commit = null;
                if (result.Succeeded || result.OwnershipMoved)
                {
                    _migratedAway = true;
                    _machine = null;
                }
            }
            cts.Dispose();
            if (result.Succeeded || result.OwnershipMoved)
            {
                machine.Dispose();
                ReleaseFiles();
            }
            Changed?.Invoke();
            return result;
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>
    /// How long the worker waits for the client's CommitDone before it gives the commit up (aborts and resumes the guest here).
    /// Not the I/O timeout: the client answers only once it knows the outcome (the journal write, or the journal read when
    /// the write's answer is late), and a worker that gave up early would resume a guest the journal may give to the target.
    /// A client that is gone no longer renews the run permit, which keeps the guest paused meanwhile.
    /// </summary>
    public static readonly TimeSpan CommitAnswerWait = TimeSpan.FromMinutes(10);

    private async Task CommitAsync(uint requestId, TimeSpan timeout, CancellationToken ct)
    {
        // Completed by the host's reader thread (CommitDone), outside the gate: the migration goes on from there at once.
        var commit = new TaskCompletionSource<string?>();
        lock (_gate) _commit = commit;
        _outbox.Post(WorkerMessageType.CommitRequest, BitConverter.GetBytes(requestId));
        string? error;
        try { error = await commit.Task.WaitAsync(timeout, ct).ConfigureAwait(false); }
        catch (TimeoutException) { throw new VmmException($"the client did not answer the commit request within {timeout.TotalSeconds:0.#} s", "worker-commit"); }
        if (error is not null) throw new VmmException($"the client refused the commit: {error}", "worker-commit");
        _committedOut = true;
    }

    /// <summary>The client's answer to the pending commit request: null to proceed, else why not.</summary>
    public void CommitDone(string? error)
    {
        TaskCompletionSource<string?> commit;
        lock (_gate) commit = _commit ?? throw new VmmException("no commit request is pending", "worker-state");
        commit.TrySetResult(error);
    }

    public void MigrateCancel()
    {
        lock (_gate)
        {
            if (_migration is null) throw new VmmException("no outgoing migration is in progress", "worker-state");
            _migration.Cancel();
        }
    }

    /// <summary>Listens for an incoming migration; returns the bound port, the credentials the source needs (made here, for
    /// this migration only) and the task of the whole reception.</summary>
    public (int Port, MigrationCredentials Credentials, Task Receiving) ListenIncoming(uint requestId, WorkerIncoming incoming, bool askCommit = false)
    {
        TcpListener listener;
        var identity = MigrationIdentity.Create(incoming.Encrypted);
        CancellationTokenSource cts;
        lock (_gate)
        {
            RequireEmpty("listen for an incoming migration");
            listener = new TcpListener(Resolve(incoming.BindHost), incoming.Port);
            try { listener.Start(); }
            catch (SocketException e)
            {
                identity.Dispose();
                throw new VmmException($"cannot listen on {incoming.BindHost}:{incoming.Port}: {e.Message}", "worker-incoming", inner: e);
            }
            _incoming = true;
            _vmId = incoming.VmId;
            _epoch = incoming.Epoch;
            _incomingCts = cts = new CancellationTokenSource();
            _diskFiles = FilesOf(incoming.Machine);
        }
        Changed?.Invoke();
        // The machine the node reserved, its disks over the files the node passed: never what the source describes.
        var target = new MigrationTarget(_hypervisor, incoming.Machine, new MigrationTargetOptions
        {
            IoTimeout = incoming.IoTimeout,
            MachineCreated = m =>
            {
                m.Serial.Output += OnSerial;
                m.Exited += exit => OnExited(m, exit);
                LogRuns(m, incoming.VmId, incoming.Epoch);
            },
            Resumed = m =>
            {
                lock (_gate)
                {
                    _machine = m;
                    _incoming = false;
                    if (incoming.PermitRequired) GrantPermit(incoming.InitialPermit);
                }
                _outbox.Post(WorkerMessageType.IncomingResumed, BitConverter.GetBytes(requestId));
                Changed?.Invoke();
            },
            ResolveCommit = askCommit ? () => AskCommitOutcome(requestId) : null,
        });
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var receiving = target.ReceiveAsync(listener, identity, cts.Token).ContinueWith(t =>
        {
            listener.Stop();
            identity.Dispose();
            var r = t.IsCompletedSuccessfully
                ? t.Result
                : new MigrationTargetResult { FailureReason = $"the incoming migration failed: {t.Exception?.InnerException?.Message}" };
            lock (_gate)
            {
                _incoming = false;
                _incomingCts = null;
                if (r.Machine is not null) _machine = r.Machine;
                else if (_machine is null) _vmId = null;
            }
            if (r.Machine is null) ReleaseFiles();
            cts.Dispose();
            var result = new WorkerIncomingResult
            {
                Succeeded = r.Succeeded, FailureReason = r.FailureReason, BytesReceived = r.BytesReceived, PagesReceived = r.PagesReceived,
                RestoreTime = r.RestoreTime, PostCopyPages = r.PostCopyPages, PagesRequested = r.PagesRequested,
            };
            _outbox.Post(WorkerMessageType.IncomingFinished, WorkerCodec.Encode(w => { w.Write(requestId); w.Write(result); }));
            Changed?.Invoke();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return (port, identity.Credentials, receiving);
    }

    /// <summary>How long a target whose commit outcome is unknown waits for the client's answer before it frees the machine.</summary>
    public static readonly TimeSpan IncomingCommitWait = TimeSpan.FromMinutes(10);

    /// <summary>The incoming migration's commit outcome is unknown here: asks the client (IncomingCommitUnknown), which answers
    /// from the VM's journal; the machine stays paused meanwhile.</summary>
    private Task<bool> AskCommitOutcome(uint requestId)
    {
        var answer = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate) _incomingCommit = answer;
        _outbox.Post(WorkerMessageType.IncomingCommitUnknown, BitConverter.GetBytes(requestId));
        return answer.Task.WaitAsync(IncomingCommitWait);
    }

    /// <summary>The client's answer to IncomingCommitUnknown: whether the migration committed (the machine resumes here).</summary>
    public void IncomingCommitResolved(bool committed)
    {
        TaskCompletionSource<bool> answer;
        lock (_gate)
        {
            answer = _incomingCommit ?? throw new VmmException("no incoming commit is unresolved", "worker-state");
            _incomingCommit = null;
        }
        answer.TrySetResult(committed);
    }

    public void IncomingCancel()
    {
        lock (_gate)
        {
            if (_incomingCts is null) throw new VmmException("no incoming migration is in progress", "worker-state");
            _incomingCts.Cancel();
        }
    }

    /// <summary>Stops the guest and frees the machine.</summary>
    public void Dispose()
    {
        VmMachine? machine;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _migration?.Cancel();
            _incomingCts?.Cancel();
            machine = _machine;
            _machine = null;
        }
        _permitTimer.Dispose();
        machine?.Dispose();
        ReleaseFiles();
    }

    /// <summary>The passed files of <paramref name="config"/>'s disks, which this VM owns from now on.</summary>
    private static List<DiskFiles> FilesOf(MachineConfig config) => [.. config.Disks.Select(d => d.Files).OfType<DiskFiles>()];

    /// <summary>Closes the passed disk files (after the machine that used them is gone).</summary>
    private void ReleaseFiles()
    {
        List<DiskFiles> files;
        lock (_gate)
        {
            files = _diskFiles;
            _diskFiles = [];
        }
        foreach (var f in files) f.Dispose();
    }

    private void Adopt(VmMachine machine, string vmId, long epoch)
    {
        machine.Serial.Output += OnSerial;
        machine.Exited += exit => OnExited(machine, exit);
        LogRuns(machine, vmId, epoch);
        _machine = machine;
        _vmId = vmId;
        _epoch = epoch;
    }

    /// <summary>Writes <paramref name="machine"/>'s run intervals to the run log, when the worker keeps one.</summary>
    private void LogRuns(VmMachine machine, string vmId, long epoch)
    {
        if (_runLog is { } log)
            machine.RunningChanged += running => log.Write(vmId, epoch, running);
    }

    private void OnSerial(ReadOnlySpan<byte> bytes)
    {
        Console.Append(bytes);
        _outbox.SerialWritten();
    }

    /// <summary>Runs on the machine's last vCPU thread (or the thread that stopped it): never takes the gate.</summary>
    private void OnExited(VmMachine machine, MachineExit exit)
    {
        if (_committedOut || Volatile.Read(ref _machine) != machine) return;
        _outbox.Post(WorkerMessageType.Exited, WorkerCodec.Encode(w => w.Write(exit)));
        ThreadPool.QueueUserWorkItem(_ => Changed?.Invoke());
    }

    /// <summary>Pauses a running guest once its permit has expired, and says so once per lapse.</summary>
    private void CheckPermit()
    {
        if (!_permit.Expired) return;
        bool lapsedNow = false;
        lock (_gate)
        {
            if (_disposed || _lapsed || _machine is null || _migration is not null) return;
            var state = _machine.State;
            if (state == MachineRunState.Finished) return;
            if (state == MachineRunState.Running) _machine.Pause();
            _lapsed = lapsedNow = true;
        }
        if (lapsedNow)
        {
            _outbox.Post(WorkerMessageType.PermitLapsed, []);
            Changed?.Invoke();
        }
    }

    private void RequireEmpty(string action)
    {
        if (_disposed) throw new VmmException("the worker is shutting down", "worker-state");
        if (_machine is not null || _incoming || _migratedAway)
            throw new VmmException($"cannot {action}: this worker already has VM {_vmId} ({State})", "worker-state");
    }

    private VmMachine RequireMachine(string action)
    {
        if (_migration is not null) throw new VmmException($"cannot {action} the VM while it migrates", "worker-state");
        if (_migratedAway) throw new VmmException($"cannot {action} the VM: it migrated to another worker", "worker-state");
        return _machine ?? throw new VmmException($"cannot {action} the VM: the worker has none yet", "worker-state");
    }

    private void RequirePermit(string action)
    {
        if (_permit.Expired)
            throw new VmmException($"cannot {action} the VM: its run permit lapsed; renew it first", "worker-permit");
    }

    private static IPAddress Resolve(string host)
    {
        if (IPAddress.TryParse(host, out var address)) return address;
        var addresses = Dns.GetHostAddresses(host);
        return addresses.Length > 0 ? addresses[0] : throw new VmmException($"host '{host}' has no address", "worker-migrate");
    }

    /// <summary>Posts each progress report as an event, in order, on the reporting thread.</summary>
    private sealed class ProgressPoster(WorkerOutbox outbox) : IProgress<MigrationProgress>
    {
        public void Report(MigrationProgress value) =>
            outbox.Post(WorkerMessageType.MigrationProgress, WorkerCodec.Encode(w => w.Write(value)));
    }
}
