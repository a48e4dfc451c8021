using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Memory;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Vmm.Migration;

/// <summary>
/// The sending side of a live migration (see <see cref="MigrationProtocol"/> for the sequence):
/// pre-copy over dedicated TCP connections (TLS, see <see cref="MigrationChannel"/>) while the VM runs, stop-and-copy once the rest fits the
/// downtime limit, then the commit callback and Resume; or, in post-copy (<see cref="MigrationMode.PostCopy"/>,
/// or <see cref="MigrationMode.Auto"/> when nothing else meets the limits), the state and the list of pages
/// still missing, the commit, Resume, and the missing pages while the target runs. It owns the machine while it migrates:
/// on any failure before Commit (refusal, a cut connection, a timeout, cancellation, a round
/// limit) the VM is left or put back running on the source and the result says why; on success
/// the source machine is stopped and disposed (unless <see cref="MigrationOptions.DisposeSourceOnSuccess"/>
/// is off). Expected failures are results, not exceptions.
/// </summary>
public sealed class MigrationSource
{
    private readonly VmMachine _machine;
    private readonly MigrationOptions _options;

    /// <summary>A source for <paramref name="machine"/>, which must be running when <see cref="MigrateAsync"/> starts.</summary>
    public MigrationSource(VmMachine machine, MigrationOptions? options = null)
    {
        _machine = machine ?? throw new ArgumentNullException(nameof(machine));
        _options = options ?? new MigrationOptions();
        if (_options.Connections < 1 || _options.Connections > 64)
            throw new ArgumentOutOfRangeException(nameof(options), "Connections must be 1..64");
        if (_options.ThrottleMax is < 0 or > 99)
            throw new ArgumentOutOfRangeException(nameof(options), "ThrottleMax must be 0..99");
    }

    /// <summary>Migrates the machine to the target listening at <paramref name="target"/>, which announced
    /// <paramref name="credentials"/> over the control plane: every connection checks the target's certificate
    /// against their pin (and refuses to send anything to another) and presents their token.</summary>
    public Task<MigrationResult> MigrateAsync(IPEndPoint target, MigrationCredentials credentials, IProgress<MigrationProgress>? progress = null,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(credentials);
        return Task.Factory.StartNew(() => new Session(_machine, _options, progress, ct).Run(target, credentials),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>The state of one migration attempt.</summary>
    private sealed class Session
    {
        private readonly VmMachine _machine;
        private readonly MigrationOptions _o;
        private readonly IProgress<MigrationProgress>? _progress;
        private readonly CancellationToken _ct;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<PageSender> _senders = [];
        private readonly TokenBucket _bucket;
        private byte[] _buffer = new byte[4096];
        private bool _paused;
        private bool _disksHandedOver;
        private bool _committed;
        private int _throttle;
        private int _maxThrottle;
        private int _rounds;
        private int _convergeRounds;
        private int _outrunRounds;
        private long _finalPages;
        private TimeSpan _pausedAt;
        private TimeSpan _readyAfter;
        private TimeSpan _commitTime;
        private TimeSpan _resumeTime;
        private DirtyBitmap[]? _pending;
        private bool _targetPostCopy;
        private string _noPostCopy = "";
        private bool _bulkSent;
        private MigrationMode _modeUsed = MigrationMode.PreCopy;
        private PostCopyPush? _push;

        public Session(VmMachine machine, MigrationOptions options, IProgress<MigrationProgress>? progress, CancellationToken ct)
        {
            _machine = machine;
            _o = options;
            _progress = progress;
            _ct = ct;
            _bucket = new TokenBucket(options.MaxBandwidth);
        }

        private FrameStream Control => _senders[0].Stream;

        public MigrationResult Run(IPEndPoint target, MigrationCredentials credentials)
        {
            using var onCancel = _ct.Register(CloseAll);
            try
            {
                if (_machine.State != MachineRunState.Running)
                    return Fail($"the machine is {_machine.State}, not running");
                Handshake(target, credentials);
                bool atOnce = _o.Mode == MigrationMode.PostCopy && !_o.PostCopyAfterBulkRound;
                if (atOnce || PreCopy())
                {
                    StartPostCopy();
                    return FinishPostCopy();
                }
                StopAndCopy();
                return Finish();
            }
            catch (Exception e) when (!_committed && e is VmmException or SocketException or IOException or ObjectDisposedException or OperationCanceledException)
            {
                string reason = _ct.IsCancellationRequested ? "cancelled" : e.Message;
                return Fail(reason);
            }
            finally
            {
                CloseAll();
            }
        }

        private void Handshake(IPEndPoint target, MigrationCredentials credentials)
        {
            Report(MigrationPhase.Handshake, 0, 0, 0, 0);
            ulong session = (ulong)Random.Shared.NextInt64();
            var hv = _machine.Vm.Hypervisor;
            var hello = new MigrationHello(MigrationProtocol.Version, session, _o.Connections, hv.Kind, hv.CpuModel, _machine.Config);
            var cacheBytes = _o.XbzrleCacheBytes / _o.Connections;
            for (int i = 0; i < _o.Connections; i++)
            {
                var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                var stream = new FrameStream(socket, _o.IoTimeout);
                _senders.Add(new PageSender(stream, _bucket, _o.Xbzrle ? new XbzrleCache(cacheBytes) : null));
                ConnectWithTimeout(socket, target);
                stream.Authenticate(credentials);
                if (i == 0)
                {
                    stream.Write(MigrationCommand.Hello, hello.ToBytes());
                    var (cmd, len) = stream.Read(ref _buffer);
                    if (cmd == MigrationCommand.Refuse)
                        throw new VmmException($"the target refused: {Encoding.UTF8.GetString(_buffer, 0, len)}", "migration-refused");
                    Expect(cmd, MigrationCommand.Accept, len);
                    _targetPostCopy = len >= 4 && (BitConverter.ToUInt32(_buffer, 0) & MigrationProtocol.AcceptPostCopy) != 0;
                    _noPostCopy = len > 4 ? Encoding.UTF8.GetString(_buffer, 4, len - 4) : "";
                    if (_o.Mode == MigrationMode.PostCopy && !_targetPostCopy)
                        throw new VmmException($"the target cannot run post-copy: {_noPostCopy}", "migration-refused");
                }
                else
                {
                    var data = new byte[12];
                    BitConverter.TryWriteBytes(data, session);
                    BitConverter.TryWriteBytes(data.AsSpan(8), i);
                    stream.Write(MigrationCommand.DataHello, data);
                }
            }
        }

        private void ConnectWithTimeout(Socket socket, IPEndPoint target)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(_ct);
            cts.CancelAfter(_o.IoTimeout);
            socket.ConnectAsync(target, cts.Token).AsTask().GetAwaiter().GetResult();
        }

        private void Expect(MigrationCommand got, MigrationCommand expected, int length)
        {
            if (got == MigrationCommand.Abort)
                throw new VmmException($"the target aborted: {Encoding.UTF8.GetString(_buffer, 0, length)}", "migration-aborted");
            if (got != expected)
                throw new VmmException($"the target sent {got} where {expected} was expected", "migration-protocol");
        }

        /// <summary>Pre-copy rounds until stop-and-copy fits (false), or until post-copy is chosen (true).</summary>
        private bool PreCopy()
        {
            // Dirty logging is switched on with the vCPUs out of Run, so that no vCPU writes through
            // a stale, unlogged view of the slots after round 0 has read a page.
            _machine.Pause();
            try { _machine.EnableDirtyLogging(true); }
            finally { _machine.Resume(); }

            var slots = _machine.Memory.Slots.ToList();
            // Round 0 reads every page; where the guest never wrote, huge pages make those reads map
            // the shared zero page 2 MiB at a time instead of 4 KiB at a time.
            foreach (var slot in slots) slot.Memory.AdviseHugePages();
            long totalPages = slots.Sum(s => (long)(s.Size >> GuestAddress.PageShift));
            Report(MigrationPhase.PreCopy, 0, totalPages << GuestAddress.PageShift, 0, 0);
            var (sent, elapsed) = SendRound(slots, null, cacheable: false);
            elapsed += SyncRound();
            _bulkSent = true;
            if (_o.Mode == MigrationMode.PostCopy) return true;
            double rate = RatePerSecond(sent, elapsed);
            long previousDirty = totalPages;
            var aim = _o.DowntimeTarget < _o.DowntimeLimit ? _o.DowntimeTarget : _o.DowntimeLimit;
            while (true)
            {
                var dirty = TakeDirty(slots);
                long dirtyPages = dirty.Sum(d => (long)d.CountDirty());
                long dirtyBytes = dirtyPages << GuestAddress.PageShift;
                double dirtyRate = dirtyBytes / Math.Max(elapsed.TotalSeconds, 1e-6);
                var expected = TimeSpan.FromSeconds(dirtyBytes / Math.Max(rate, 1));
                Report(MigrationPhase.PreCopy, _rounds, dirtyBytes, rate, dirtyRate);
                _pending = dirty;
                var decision = StopRule.Decide(dirtyPages, previousDirty, expected, aim, _o.DowntimeLimit, CanConvergeFurther);
                if (decision == StopDecision.StopAndCopy)
                    return false;
                if (decision == StopDecision.Converge)
                {
                    // Within the limit but no longer converging towards the aim: the guest rewrites its working set faster than
                    // a round sends it, and stopping now would pause it for all of that set. Throttling the vCPUs a step more
                    // per round (auto-converge) for a few rounds shrinks it.
                    _convergeRounds++;
                    ThrottleStep();
                }
                else if (SwitchToPostCopyOrThrottle(dirtyBytes, dirtyRate, rate))
                    return true;
                previousDirty = dirtyPages;
                _rounds++;
                (sent, elapsed) = SendRound(slots, dirty, cacheable: true);
                elapsed += SyncRound();
                if (sent >= 256) rate = RatePerSecond(sent, elapsed);
            }
        }

        /// <summary>
        /// After a round that still shrinks or is over the limit: true when post-copy should take over (the rounds ran out, or
        /// pre-copy cannot meet the limit); throws when nothing can; else throttles a step more while the guest dirties at least
        /// half as fast as the link carries (not in <see cref="MigrationMode.PreCopy"/>) and returns false (another round).
        /// </summary>
        private bool SwitchToPostCopyOrThrottle(long dirtyBytes, double dirtyRate, double rate)
        {
            _outrunRounds = dirtyRate >= rate ? _outrunRounds + 1 : 0;
            if (_rounds >= _o.MaxRounds)
            {
                if (CanSwitchToPostCopy) return true;
                throw new VmmException($"did not converge in {_o.MaxRounds} rounds: {Mib(dirtyBytes)} MiB dirty, dirty rate {Mib(dirtyRate)} MiB/s, " +
                    $"bandwidth {Mib(rate)} MiB/s, throttle {_throttle}%, downtime limit {_o.DowntimeLimit.TotalMilliseconds} ms{PostCopyNote}", "migration-converge");
            }
            // Throttling takes vCPU time away, and at best divides the dirty rate accordingly: when even the
            // most throttling would leave the guest dirtying faster than the link carries, or when it has
            // been tried for three rounds to no avail, pre-copy cannot meet the limit.
            bool hopeless = _rounds >= 2 && dirtyRate * (100 - _o.ThrottleMax) / (100 - _throttle) >= rate;
            if (_o.Mode == MigrationMode.Auto && ((_throttle >= _o.ThrottleMax && _outrunRounds >= 3) || (hopeless && CanSwitchToPostCopy)))
            {
                if (CanSwitchToPostCopy) return true;
                throw new VmmException($"cannot meet the downtime limit of {_o.DowntimeLimit.TotalMilliseconds} ms: the guest dirties {Mib(dirtyRate)} MiB/s " +
                    $"against a link of {Mib(rate)} MiB/s even with the vCPUs throttled by {_throttle}%{PostCopyNote}", "migration-converge");
            }
            if (_o.Mode != MigrationMode.PreCopy && _rounds >= 1 && dirtyRate >= rate / 2 && _throttle < _o.ThrottleMax)
                ThrottleStep();
            return false;
        }

        /// <summary>Throttles the vCPUs a step more (the first step, then one increment per call, at most the maximum).</summary>
        private void ThrottleStep()
        {
            SetThrottle(_throttle == 0 ? Math.Min(_o.ThrottleInitial, _o.ThrottleMax) : Math.Min(_throttle + _o.ThrottleIncrement, _o.ThrottleMax));
            _modeUsed = MigrationMode.AutoConverge;
        }

        /// <summary>Whether a round under the limit that no longer shrinks may be followed by a throttled one (see
        /// <see cref="MigrationOptions.ConvergeRounds"/>).</summary>
        private bool CanConvergeFurther =>
            _o.Mode is MigrationMode.Auto or MigrationMode.AutoConverge && _convergeRounds < _o.ConvergeRounds &&
            _throttle < _o.ThrottleMax && _rounds < _o.MaxRounds;

        private bool CanSwitchToPostCopy => _o.Mode == MigrationMode.Auto && _o.AllowPostCopy && _targetPostCopy;

        private string PostCopyNote => _o.Mode != MigrationMode.Auto ? ""
            : !_o.AllowPostCopy ? "; post-copy not allowed"
            : !_targetPostCopy ? $"; post-copy unavailable on the target: {_noPostCopy}" : "";

        /// <summary>Pauses, sends Complete, the runs of pages the target still lacks and the state, and waits for Ready.</summary>
        private void StartPostCopy()
        {
            var slots = _machine.Memory.Slots.ToList();
            _machine.Pause();
            _paused = true;
            _pausedAt = _clock.Elapsed;
            SetThrottle(0);
            _modeUsed = MigrationMode.PostCopy;
            ulong[][] missing;
            if (_bulkSent)
            {
                var final = TakeDirty(slots);
                if (_pending is not null)
                    for (int i = 0; i < final.Length; i++) final[i].UnionWith(_pending[i]);
                missing = [.. final.Select(d => d.Words.ToArray())];
            }
            else
                missing = [.. slots.Select(AllPages)];
            _push = new PostCopyPush(slots, missing);
            _rounds++;
            foreach (var s in _senders) s.Stream.Write(MigrationCommand.Complete, ReadOnlySpan<byte>.Empty);
            foreach (var frame in _push.RunFrames()) Control.Write(MigrationCommand.PostCopy, frame);
            HandOverDisks();
            Control.Write(MigrationCommand.State, _machine.SaveState().ToBytes());
            Report(MigrationPhase.StopAndCopy, _rounds, 0, 0, 0);
            var (cmd, len) = Control.Read(ref _buffer);
            Expect(cmd, MigrationCommand.Ready, len);
            _readyAfter = _clock.Elapsed - _pausedAt;
        }

        private static ulong[] AllPages(MemorySlot slot)
        {
            ulong pages = slot.Size >> GuestAddress.PageShift;
            var words = new ulong[(pages + 63) / 64];
            Array.Fill(words, ulong.MaxValue);
            if (pages % 64 != 0) words[^1] = (1UL << (int)(pages % 64)) - 1;
            return words;
        }

        /// <summary>Commit, Resume, then the missing pages while the target runs; the source never resumes after the commit.</summary>
        private MigrationResult FinishPostCopy()
        {
            var push = _push!;
            Report(MigrationPhase.Commit, _rounds, 0, 0, 0);
            RunCommit();
            // A commit callback that returned is the commit (the ownership moved): a cancellation now no longer resumes the
            // source, it only cuts the Resume short (the target learns the outcome from its ResolveCommit).
            _committed = true;
            string? failure = null;
            var downtime = TimeSpan.Zero;
            try
            {
                Control.Write(MigrationCommand.Resume, ReadOnlySpan<byte>.Empty);
                var (cmd, len) = Control.Read(ref _buffer);
                Expect(cmd, MigrationCommand.Resumed, len);
                downtime = _clock.Elapsed - _pausedAt;
                ReportPostCopy(push.Remaining);
                push.Run(Control, _bucket, _o.IoTimeout, ReportPostCopy, _ct);
            }
            catch (Exception e) when (e is VmmException or SocketException or IOException or ObjectDisposedException or OperationCanceledException)
            {
                string why = _ct.IsCancellationRequested ? "cancelled" : e.Message;
                failure = $"post-copy lost the target with {push.Remaining} pages not sent: {why}";
                if (downtime == TimeSpan.Zero) downtime = _clock.Elapsed - _pausedAt;
            }
            _machine.Stop();
            _machine.WaitForExit(_o.IoTimeout);
            if (_o.DisposeSourceOnSuccess) _machine.Dispose();
            Report(failure is null ? MigrationPhase.Completed : MigrationPhase.Failed, _rounds, 0, 0, 0);
            return Result(failure is null, failure, downtime);
        }

        private void ReportPostCopy(long remaining)
        {
            if (_progress is null) return;
            _progress.Report(new MigrationProgress(MigrationPhase.PostCopy, _rounds, _senders.Sum(s => s.Pages), _senders.Sum(s => s.Stream.BytesWritten),
                remaining << GuestAddress.PageShift, 0, 0, TimeSpan.Zero, 0) { PagesRemaining = remaining });
        }

        private void StopAndCopy()
        {
            var slots = _machine.Memory.Slots.ToList();
            _machine.Pause();
            _paused = true;
            _pausedAt = _clock.Elapsed;
            SetThrottle(0);
            var final = TakeDirty(slots);
            if (_pending is not null)
                for (int i = 0; i < final.Length; i++) final[i].UnionWith(_pending[i]);
            _finalPages = final.Sum(d => (long)d.CountDirty());
            _rounds++;
            SendRound(slots, final, cacheable: true);
            foreach (var s in _senders) s.Stream.Write(MigrationCommand.Complete, ReadOnlySpan<byte>.Empty);
            HandOverDisks();
            Control.Write(MigrationCommand.State, _machine.SaveState().ToBytes());
            Report(MigrationPhase.StopAndCopy, _rounds, 0, 0, 0);
            var (cmd, len) = Control.Read(ref _buffer);
            Expect(cmd, MigrationCommand.Ready, len);
            _readyAfter = _clock.Elapsed - _pausedAt;
        }

        /// <summary>With the guest paused and its disk requests drained (Machine.Pause), flushes and
        /// closes the disks so that the target can open and lock them before it resumes.</summary>
        private void HandOverDisks()
        {
            _disksHandedOver = true;
            _machine.Devices.DeactivateDisks();
        }

        /// <summary>Opens the disks again after a failed hand-over; the target may still hold them for
        /// a moment (until it has processed the Abort), so a lock conflict is retried for a few seconds.</summary>
        private void TakeDisksBack()
        {
            var deadline = _clock.Elapsed + TimeSpan.FromSeconds(5);
            while (true)
            {
                try
                {
                    _machine.Devices.ActivateDisks();
                    _disksHandedOver = false;
                    return;
                }
                catch (VmmException e) when (e.Operation == "disk-lock" && _clock.Elapsed < deadline)
                {
                    Thread.Sleep(50);
                }
            }
        }

        private MigrationResult Finish()
        {
            Report(MigrationPhase.Commit, _rounds, 0, 0, 0);
            RunCommit();
            // A commit callback that returned is the commit (the ownership moved): a cancellation now no longer resumes the
            // source, it only cuts the Resume short (the target learns the outcome from its ResolveCommit).
            _committed = true;
            string? failure = null;
            try
            {
                var resumeSent = _clock.Elapsed;
                Control.Write(MigrationCommand.Resume, ReadOnlySpan<byte>.Empty);
                var (cmd, len) = Control.Read(ref _buffer);
                Expect(cmd, MigrationCommand.Resumed, len);
                _resumeTime = _clock.Elapsed - resumeSent;
            }
            catch (Exception e) when (e is VmmException or SocketException or IOException or ObjectDisposedException)
            {
                failure = $"ownership was committed but the target did not confirm Resume: {e.Message}";
            }
            var downtime = _clock.Elapsed - _pausedAt;
            // Machine.Stop returns once the vCPU threads are done, slightly before the machine
            // reports Finished; wait for that so the caller sees a finished source.
            _machine.Stop();
            _machine.WaitForExit(_o.IoTimeout);
            if (_o.DisposeSourceOnSuccess) _machine.Dispose();
            Report(MigrationPhase.Completed, _rounds, 0, 0, 0);
            return Result(failure is null, failure, downtime);
        }

        /// <summary>
        /// The commit callback, timed (<see cref="MigrationResult.CommitTime"/>). It returns once the ownership moved and throws
        /// when it did not (the source then aborts and resumes); while the outcome is unknown it must keep waiting (it learns
        /// the outcome where it is recorded), never throw: a source that resumed a guest the target may own runs it twice.
        /// </summary>
        private void RunCommit()
        {
            if (_o.Commit is not { } commit) return;
            var start = _clock.Elapsed;
            try { commit(_ct).GetAwaiter().GetResult(); }
            finally { _commitTime = _clock.Elapsed - start; }
        }

        private MigrationResult Fail(string reason)
        {
            CloseAll(abortReason: reason);
            SetThrottle(0);
            try
            {
                if (_machine.State is MachineRunState.Running or MachineRunState.Paused) _machine.EnableDirtyLogging(false);
                if (_disksHandedOver) TakeDisksBack();
                if (_machine.State == MachineRunState.Paused) _machine.Resume();
            }
            catch (VmmException resumeError)
            {
                reason += $" (and the source could not resume: {resumeError.Message})";
            }
            Report(MigrationPhase.Failed, _rounds, 0, 0, 0);
            return Result(false, reason, _paused ? _clock.Elapsed - _pausedAt : TimeSpan.Zero);
        }

        private MigrationResult Result(bool ok, string? reason, TimeSpan downtime) => new()
        {
            Succeeded = ok,
            FailureReason = reason,
            TotalTime = _clock.Elapsed,
            Downtime = downtime,
            WireBytes = _senders.Sum(s => s.Stream.BytesWritten),
            Rounds = _rounds,
            PagesSent = _senders.Sum(s => s.Pages) + (_push is null ? 0 : _push.Total - _push.Remaining),
            ZeroPages = _senders.Sum(s => s.ZeroPages),
            DeltaPages = _senders.Sum(s => s.DeltaPages),
            FinalPages = _finalPages,
            MaxThrottlePercent = _maxThrottle,
            ModeUsed = _modeUsed,
            PostCopyPages = _push?.Total ?? 0,
            PagesFetchedOnDemand = _push?.OnDemand ?? 0,
            OwnershipMoved = _committed,
            ReadyAfter = _readyAfter,
            CommitTime = _commitTime,
            ResumeTime = _resumeTime,
        };

        /// <summary>Sends the pages of <paramref name="dirty"/> (every page when null), partitioned across the
        /// connections by 256 KiB groups; returns the non-zero pages sent and the time taken.</summary>
        private (long DataPages, TimeSpan Elapsed) SendRound(IReadOnlyList<MemorySlot> slots, DirtyBitmap[]? dirty, bool cacheable)
        {
            var start = _clock.Elapsed;
            long before = _senders.Sum(s => s.DataPages);
            int n = _senders.Count;
            if (n == 1) SendPartition(_senders[0], 0, 1, slots, dirty, cacheable);
            else
            {
                var tasks = new Task[n];
                for (int i = 0; i < n; i++)
                {
                    int index = i;
                    tasks[i] = Task.Factory.StartNew(() => SendPartition(_senders[index], index, n, slots, dirty, cacheable),
                        CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
                }
                try { Task.WaitAll(tasks); }
                catch (AggregateException e) { throw e.InnerExceptions[0]; }
            }
            return (_senders.Sum(s => s.DataPages) - before, _clock.Elapsed - start);
        }

        private void SendPartition(PageSender sender, int index, int count, IReadOnlyList<MemorySlot> slots, DirtyBitmap[]? dirty, bool cacheable)
        {
            for (int s = 0; s < slots.Count; s++)
            {
                var slot = slots[s];
                ulong basePage = slot.GuestPhysAddr >> GuestAddress.PageShift;
                if (dirty is null)
                {
                    ulong pages = slot.Size >> GuestAddress.PageShift;
                    for (ulong p = 0; p < pages; p++)
                        if ((int)(((basePage + p) >> 6) % (ulong)count) == index) sender.Send(slot, p, cacheable, _ct);
                }
                else
                {
                    foreach (var p in dirty[s].DirtyPages())
                        if ((int)(((basePage + p) >> 6) % (ulong)count) == index) sender.Send(slot, p, cacheable, _ct);
                }
            }
            sender.Flush(_ct);
        }

        /// <summary>Sends Sync(round) on every connection and waits for the target's Synced, so that the
        /// round's time covers its pages being applied (no backlog left in socket buffers); returns the wait.</summary>
        private TimeSpan SyncRound()
        {
            var start = _clock.Elapsed;
            var round = BitConverter.GetBytes((uint)_rounds);
            for (int i = _senders.Count - 1; i >= 0; i--) _senders[i].Stream.Write(MigrationCommand.Sync, round);
            var (cmd, len) = Control.Read(ref _buffer);
            Expect(cmd, MigrationCommand.Synced, len);
            if (len != 4 || BitConverter.ToUInt32(_buffer, 0) != (uint)_rounds)
                throw new VmmException($"the target synced another round than {_rounds}", "migration-protocol");
            return _clock.Elapsed - start;
        }

        private DirtyBitmap[] TakeDirty(IReadOnlyList<MemorySlot> slots) =>
            [.. slots.Select(s => _machine.Vm.GetDirtyLog(s.Slot))];

        private void SetThrottle(int percent)
        {
            if (percent == _throttle) return;
            _throttle = percent;
            _maxThrottle = Math.Max(_maxThrottle, percent);
            if (_machine.State is MachineRunState.Running or MachineRunState.Paused) _machine.SetThrottle(percent);
        }

        private void Report(MigrationPhase phase, int round, long remaining, double rate, double dirtyRate)
        {
            if (_progress is null) return;
            var eta = rate > 0 ? TimeSpan.FromSeconds(remaining / rate) : TimeSpan.Zero;
            _progress.Report(new MigrationProgress(phase, round, _senders.Sum(s => s.Pages), _senders.Sum(s => s.Stream.BytesWritten),
                remaining, rate, dirtyRate, eta, _throttle));
        }

        private void CloseAll() => CloseAll(abortReason: null);

        private void CloseAll(string? abortReason)
        {
            lock (_senders)
            {
                if (abortReason is not null && _senders.Count > 0 && !_ct.IsCancellationRequested)
                {
                    try { _senders[0].Stream.WriteText(MigrationCommand.Abort, abortReason); }
                    catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException or VmmException) { }
                }
                foreach (var s in _senders) s.Stream.Dispose();
            }
        }

        private static double RatePerSecond(long pages, TimeSpan elapsed) =>
            (pages << GuestAddress.PageShift) / Math.Max(elapsed.TotalSeconds, 1e-6);

        private static string Mib(double bytes) => (bytes / (1 << 20)).ToString("0.0");
    }
}
