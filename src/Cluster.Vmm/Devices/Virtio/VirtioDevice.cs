using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Devices.Virtio;

/// <summary>
/// The device-type half of a virtio device (block, net, ...), under a transport
/// (<see cref="VirtioPciTransport"/>). It offers features, a configuration area and queues; once the
/// driver sets DRIVER_OK it serves every queue on a dedicated I/O thread of its own ("NAME-qN"):
/// a notification from a vCPU exit only wakes that thread and returns, and the thread pops chains,
/// hands each to <see cref="Process"/>, returns it to the used ring and raises the queue's interrupt
/// where the driver wants one. Pausing drains: it returns once no chain is being processed.
/// A driver that breaks the ring rules, or a device bug, stops the queue and asks for a reset
/// (DEVICE_NEEDS_RESET); the host process never crashes for it.
/// </summary>
public abstract class VirtioDevice : IPausable, IDmaDevice, IDeviceCounters, IDisposable
{
    private readonly object _gate = new();
    private QueueWorker[] _workers = [];
    private bool _paused;
    private long _dmaBytes, _chains, _notifications, _interrupts, _queueErrors;

    /// <summary>A device named <paramref name="name"/> ("virtio-blk0").</summary>
    protected VirtioDevice(string name) => Name = name;

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The virtio device type (2 for block).</summary>
    public abstract int DeviceType { get; }

    /// <summary>Every feature the device offers (transport features included: VERSION_1 and the ring features).</summary>
    public abstract ulong DeviceFeatures { get; }

    /// <summary>How many queues the device has.</summary>
    public abstract int QueueCount { get; }

    /// <summary>The largest queue size offered.</summary>
    public virtual ushort MaxQueueSize => 256;

    /// <summary>Bytes of the device-specific configuration area.</summary>
    public abstract int ConfigSize { get; }

    /// <summary>The features the driver accepted, once it has.</summary>
    public ulong NegotiatedFeatures { get; private set; }

    /// <summary>Guest memory, once the transport attached it.</summary>
    protected GuestMemory Memory { get; private set; } = null!;

    /// <inheritdoc />
    public long DmaBytesWritten => Interlocked.Read(ref _dmaBytes);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, long> Counters
    {
        get
        {
            var c = new Dictionary<string, long>
            {
                ["chains"] = Interlocked.Read(ref _chains),
                ["notifications"] = Interlocked.Read(ref _notifications),
                ["interrupts"] = Interlocked.Read(ref _interrupts),
                ["queue_errors"] = Interlocked.Read(ref _queueErrors),
                ["dma_bytes"] = DmaBytesWritten,
            };
            foreach (var (k, v) in DeviceCounters()) c[k] = v;
            return c;
        }
    }

    /// <summary>Reads the configuration area (the transport bounds the range).</summary>
    public abstract void ReadConfig(int offset, Span<byte> data);

    /// <summary>A driver write to the configuration area; ignored unless a device has writable fields.</summary>
    public virtual void WriteConfig(int offset, ReadOnlySpan<byte> data) { }

    /// <summary>Serves one chain on the queue's I/O thread; returns the bytes written into its
    /// writable buffers. May throw <see cref="VirtioQueueException"/> for a chain that breaks the
    /// device's own rules (for block: no room for the status byte).</summary>
    protected abstract uint Process(int queue, DescriptorChain chain);

    /// <summary>The device's own state, carried inside its transport's section (empty by default).</summary>
    protected internal virtual byte[] SaveDeviceState() => [];

    /// <summary>Loads what <see cref="SaveDeviceState"/> captured on the source, before the queues restart.</summary>
    /// <exception cref="VmmException">the state does not fit this device.</exception>
    protected internal virtual void RestoreDeviceState(ReadOnlySpan<byte> state)
    {
        if (state.Length != 0) throw new VmmException($"{Name}: {state.Length} bytes of device state where none is kept", "virtio-restore");
    }

    /// <summary>The device's own counters.</summary>
    protected virtual IEnumerable<KeyValuePair<string, long>> DeviceCounters() => [];

    /// <summary>Counts bytes the device wrote into guest memory (for <see cref="DmaBytesWritten"/>).</summary>
    protected void CountDma(long bytes) => Interlocked.Add(ref _dmaBytes, bytes);

    internal Action<int>? InterruptQueue { get; set; }
    internal Action<string>? NeedsReset { get; set; }
    internal Action? ConfigChanged { get; set; }

    /// <summary>Whether the device serves queue <paramref name="queue"/> on a thread of its own instead of the
    /// base's I/O threads (net's receive queue, filled when frames arrive rather than when the driver notifies):
    /// no I/O thread is started for it, and its notifications go to <see cref="OnDeviceQueueNotified"/>.</summary>
    protected virtual bool ServedByDevice(int queue) => false;

    /// <summary>The driver notified a queue the device serves itself (vCPU thread: must not block).</summary>
    protected virtual void OnDeviceQueueNotified(int queue) { }

    /// <summary>Called at DRIVER_OK (and after a restore of a running device), once the I/O threads started, with
    /// every enabled queue: where a device finds the queues it serves itself.</summary>
    protected virtual void OnQueuesStarted(IReadOnlyList<Virtqueue> queues) { }

    /// <summary>Called by <see cref="Pause"/> once the I/O threads are idle: a device with threads of its own stops
    /// them touching guest memory before it returns.</summary>
    protected virtual void OnPause() { }

    /// <summary>Called by <see cref="Resume"/> after the I/O threads were let go.</summary>
    protected virtual void OnResume() { }

    /// <summary>A queue broke (the device now waits for the driver's reset): a device with threads of its own stops
    /// serving its queues too. Called from the thread that found the fault.</summary>
    protected virtual void OnBroken() { }

    /// <summary>Raises queue <paramref name="queue"/>'s interrupt from a device's own thread (counted; a VM that
    /// refuses it breaks the device, never the process).</summary>
    protected void SignalQueue(int queue)
    {
        Interlocked.Increment(ref _interrupts);
        try { InterruptQueue?.Invoke(queue); }
        catch (Exception e) { ReportQueueError($"queue {queue}: {e.GetType().Name}: {e.Message}"); }
    }

    /// <summary>A queue the device serves itself broke the rules: counted, and the driver is asked to reset
    /// (DEVICE_NEEDS_RESET with a config interrupt).</summary>
    protected void ReportQueueError(string reason)
    {
        Interlocked.Increment(ref _queueErrors);
        OnBroken();
        try { NeedsReset?.Invoke(reason); }
        catch (VmmException) { } // the VM refused the config interrupt: the status says NEEDS_RESET all the same
    }

    /// <summary>The device changed its configuration area (link status, announce): a config interrupt.</summary>
    protected void RaiseConfigChange()
    {
        try { ConfigChanged?.Invoke(); }
        catch (VmmException) { } // the VM refused the interrupt: the driver reads the new value when it looks
    }

    internal void Attach(GuestMemory memory) => Memory = memory;

    /// <summary>DRIVER_OK: starts one I/O thread per enabled queue (paused ones wait for Resume).</summary>
    internal void Activate(ulong features, IReadOnlyList<Virtqueue> queues)
    {
        // Activating again (a restore into a device that ran) first stops the threads it has: two
        // threads must never serve one queue, and threads must not pile up.
        QueueWorker[] old;
        lock (_gate)
        {
            old = _workers;
            _workers = [];
        }
        foreach (var w in old) w.Stop();
        NegotiatedFeatures = features;
        OnActivate(features);
        lock (_gate)
        {
            _workers = queues.Where(q => q.Enabled && !ServedByDevice(q.Index)).Select(q => new QueueWorker(this, q)).ToArray();
            foreach (var w in _workers) w.Start(_paused);
        }
        OnQueuesStarted(queues.Where(q => q.Enabled).ToArray());
    }

    /// <summary>Called at DRIVER_OK with the negotiated features, before the queues run.</summary>
    protected virtual void OnActivate(ulong features) { }

    /// <summary>A device reset: stops the I/O threads (after the chain in progress) and forgets the queues.</summary>
    internal void Reset()
    {
        QueueWorker[] workers;
        lock (_gate)
        {
            workers = _workers;
            _workers = [];
        }
        foreach (var w in workers) w.Stop();
        NegotiatedFeatures = 0;
        OnReset();
    }

    /// <summary>Called at a device reset, after the queues stopped.</summary>
    protected virtual void OnReset() { }

    /// <summary>The driver notified queue <paramref name="queue"/>: wakes its I/O thread (vCPU thread; never blocks).</summary>
    internal void Notify(int queue)
    {
        Interlocked.Increment(ref _notifications);
        if (ServedByDevice(queue))
        {
            OnDeviceQueueNotified(queue);
            return;
        }
        var workers = _workers;
        foreach (var w in workers)
            if (w.Queue.Index == queue) w.Wake();
    }

    /// <inheritdoc />
    public void Pause()
    {
        QueueWorker[] workers;
        lock (_gate)
        {
            _paused = true;
            workers = _workers;
        }
        foreach (var w in workers) w.Pause();
        OnPause();
    }

    /// <inheritdoc />
    public void Resume()
    {
        QueueWorker[] workers;
        lock (_gate)
        {
            _paused = false;
            workers = _workers;
        }
        foreach (var w in workers) w.Resume();
        OnResume();
    }

    /// <summary>Stops the I/O threads.</summary>
    public virtual void Dispose()
    {
        Reset();
        GC.SuppressFinalize(this);
    }

    /// <summary>How many I/O threads serve one queue, so that a driver with several requests in flight
    /// (queue depth) gets them served at once, as QEMU's thread pool does; 1 keeps a queue in order.</summary>
    protected virtual int ThreadsPerQueue => 1;

    /// <summary>The I/O threads of one queue: each takes the next chain under the queue's lock, serves it
    /// outside the lock, and returns it under the lock (completions may overtake one another, as virtio allows).</summary>
    private sealed class QueueWorker(VirtioDevice device, Virtqueue queue)
    {
        private readonly object _gate = new();
        // Set while no thread serves a chain: what Pause waits for (apart from the lock's own waits,
        // so that waking one worker with Pulse can never wake the pausing thread instead).
        private readonly ManualResetEventSlim _idle = new(true);
        private Thread[] _threads = [];
        private bool _wake, _paused, _stopping, _broken;
        private int _busy;

        public Virtqueue Queue { get; } = queue;

        public void Start(bool paused)
        {
            _paused = paused;
            _wake = true; // serve whatever was queued before DRIVER_OK or before a restore
            _threads = Enumerable.Range(0, Math.Max(1, device.ThreadsPerQueue))
                .Select(i => new Thread(Run) { IsBackground = true, Name = $"{device.Name}-q{Queue.Index}-{i}" }).ToArray();
            foreach (var t in _threads) t.Start();
        }

        public void Wake()
        {
            lock (_gate)
            {
                _wake = true;
                Monitor.Pulse(_gate); // one thread: it wakes another when it finds more than one chain
            }
        }

        public void Pause()
        {
            lock (_gate) _paused = true;
            _idle.Wait();
        }

        public void Resume()
        {
            lock (_gate)
            {
                _paused = false;
                _wake = true;
                Monitor.PulseAll(_gate);
            }
        }

        public void Stop()
        {
            lock (_gate)
            {
                _stopping = true;
                Monitor.PulseAll(_gate);
            }
            foreach (var t in _threads)
                if (t != Thread.CurrentThread) t.Join();
            if (!_threads.Contains(Thread.CurrentThread)) _idle.Dispose();
        }

        private void Run()
        {
            while (true)
            {
                DescriptorChain? chain;
                lock (_gate)
                {
                    while (true)
                    {
                        while (!_stopping && (_paused || !_wake || _broken)) Monitor.Wait(_gate);
                        if (_stopping) return;
                        if (TryPop(out chain)) break;
                        // Nothing left: ask for the next notification, and look once more for a chain
                        // that came in meanwhile (event index).
                        _wake = Guard(Queue.ArmNotification) is true;
                    }
                    if (_busy++ == 0) _idle.Reset();
                    if (_threads.Length > 1 && _busy < _threads.Length)
                    {
                        // Threads are idle: the next chain must reach one of them now, not when this one
                        // is done. Wake one for a chain already there; else ask the driver (event index)
                        // to notify on the next one, and look once more.
                        if (Guard(Queue.HasAvailable) is true || Guard(Queue.ArmNotification) is true)
                            Monitor.Pulse(_gate);
                    }
                }
                uint written = 0;
                Exception? failure = null;
                try { written = device.Process(Queue.Index, chain!); }
                catch (Exception e) { failure = e; }
                bool signal = false;
                if (failure is null)
                {
                    lock (_gate)
                    {
                        Guard(() =>
                        {
                            Queue.Push(chain!.Head, written);
                            Interlocked.Increment(ref device._chains);
                            signal = Queue.NeedsInterrupt();
                            return true;
                        });
                    }
                }
                else Break(failure);
                if (signal)
                {
                    Interlocked.Increment(ref device._interrupts);
                    try { device.InterruptQueue?.Invoke(Queue.Index); }
                    catch (Exception e) { Break(e); } // the VM refused the interrupt: never let it end the process
                }
                // Only now is the request done (in the used ring, its interrupt raised): a pause may return.
                lock (_gate)
                    if (--_busy == 0) _idle.Set();
            }
        }

        /// <summary>Takes the next chain (under the lock); a broken ring stops the queue.</summary>
        private bool TryPop(out DescriptorChain? chain)
        {
            chain = null;
            try { return Queue.TryPop(out chain); }
            catch (Exception e)
            {
                Break(e, locked: true);
                return false;
            }
        }

        /// <summary>Runs a ring access under the lock; a broken ring (or a fault) stops the queue. Null when it broke.</summary>
        private bool? Guard(Func<bool> access)
        {
            try { return access(); }
            catch (Exception e)
            {
                Break(e, locked: true);
                return null;
            }
        }

        private void Break(Exception e, bool locked = false)
        {
            // A ring that breaks the rules, or a fault in the device: the queue stops, the driver must reset.
            if (locked) _broken = true;
            else lock (_gate) _broken = true;
            Interlocked.Increment(ref device._queueErrors);
            device.OnBroken();
            try
            {
                device.NeedsReset?.Invoke(e is VirtioQueueException ? e.Message : $"queue {Queue.Index}: {e.GetType().Name}: {e.Message}");
            }
            catch (VmmException)
            {
                // The VM refused the config interrupt (as it may have refused the queue's, the fault
                // caught above): the status already says NEEDS_RESET, and an exception escaping
                // this thread would end the process.
            }
        }
    }
}
