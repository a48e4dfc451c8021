using Cluster.Vmm.Devices;
using Cluster.Vmm.Devices.Exit;
using Cluster.Vmm.Devices.Serial;
using Cluster.Vmm.Guests;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Loaders;
using BzImage = Cluster.Vmm.Loaders.Linux.BzImage;
using LinuxLoader = Cluster.Vmm.Loaders.Linux.LinuxLoader;
using PciInterruptRoute = Cluster.Vmm.Loaders.Linux.PciInterruptRoute;
using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Machine;

/// <summary>
/// One virtual machine without actors: a VM of some backend, its memory (slot 0 at guest-physical
/// 0), its devices (<see cref="DeviceManager"/>: COM1, the exit device, PCI with a virtio-blk device
/// per disk), the guest image loaded with the VMM's long-mode setup, and one <see cref="VcpuThread"/> per vCPU. <see cref="Exited"/>
/// fires once, after every vCPU has finished, with the first reason that ended the machine.
/// Start, Pause, Resume, Stop and the state calls are for the owner (not the vCPU threads).
/// </summary>
public sealed class Machine : IDisposable
{
    private static readonly TimeSpan SerialFlushPeriod = TimeSpan.FromMilliseconds(20);

    private readonly object _gate = new();
    private readonly HostMemory _hostMemory;
    private readonly VcpuThread[] _vcpus;
    private MachineRunState _state = MachineRunState.Created;
    private MachineExit? _firstExit;
    private int _running;
    private Timer? _flushTimer;
    private bool _exitReported;
    private Timer? _throttleTimer;
    private bool _disposed;

    private Machine(MachineConfig config, IVm vm, HostMemory hostMemory, DeviceManager devices, VcpuThread[] vcpus)
    {
        Config = config;
        Vm = vm;
        _hostMemory = hostMemory;
        Devices = devices;
        _vcpus = vcpus;
        foreach (var v in vcpus) v.Finished += OnVcpuFinished;
        devices.ExitDevice.ExitRequested += OnGuestExit;
        // The first byte after a quiet spell goes out at once; what follows it is batched by the periodic flush.
        devices.Serial.QuietFlush = SerialFlushPeriod;
    }

    /// <summary>The configuration the machine was created with.</summary>
    public MachineConfig Config { get; }

    /// <summary>The backend's VM.</summary>
    public IVm Vm { get; }

    /// <summary>Guest-physical memory.</summary>
    public GuestMemory Memory => Vm.Memory;

    /// <summary>The devices.</summary>
    public DeviceManager Devices { get; }

    /// <summary>The port-I/O and MMIO bus.</summary>
    public IoBus Bus => Devices.Bus;

    /// <summary>COM1 at 0x3f8, IRQ 4: subscribe to <see cref="Uart16550.Output"/> for the console.</summary>
    public Uart16550 Serial => Devices.Serial;

    /// <summary>The exit device at port 0xf4.</summary>
    public ExitDevice ExitDevice => Devices.ExitDevice;

    /// <summary>The vCPU threads, by id.</summary>
    public IReadOnlyList<VcpuThread> Vcpus => _vcpus;

    /// <summary>The current state.</summary>
    public MachineRunState State { get { lock (_gate) return _state; } }

    /// <summary>How the machine ended, once it has.</summary>
    public MachineExit? Exit { get { lock (_gate) return _state == MachineRunState.Finished ? _firstExit : null; } }

    /// <summary>Raised once, after every vCPU has finished, with why the machine ended.</summary>
    public event Action<MachineExit>? Exited;

    /// <summary>
    /// Raised with true just before the vCPUs are let run (start, resume) and with false once none runs any more (every
    /// vCPU parked by a pause, or the machine finished): the bounds of the guest's execution, for run logs that check
    /// that a VM never runs in two places. On the thread that changed the state; it must not call back into the machine.
    /// </summary>
    public event Action<bool>? RunningChanged;

    /// <summary>
    /// Creates the VM, its memory and devices, loads the image, writes the long-mode tables and the
    /// arguments, and creates the vCPUs with their initial registers. Nothing runs until <see cref="Start"/>.
    /// </summary>
    /// <exception cref="VmmException">a bad configuration, an image that cannot be loaded, a backend failure.</exception>
    public static Machine Create(IHypervisor hypervisor, MachineConfig config)
    {
        ArgumentNullException.ThrowIfNull(hypervisor);
        ArgumentNullException.ThrowIfNull(config);
        int maxVcpus = Math.Min(hypervisor.MaxVcpus, GuestLayout.MaxVcpus);
        if (config.Vcpus < 1 || config.Vcpus > maxVcpus)
            throw new VmmException($"{config.Vcpus} vCPUs requested; the {hypervisor.Name} backend and the VMM's layout allow 1..{maxVcpus}", "machine-create");
        if (config.MemoryBytes < GuestLayout.MinMemoryBytes || config.MemoryBytes > GuestLayout.MaxMemoryBytes
            || config.MemoryBytes % GuestAddress.PageSize != 0)
            throw new VmmException($"guest memory of {config.MemoryBytes} bytes must be a multiple of 4 KiB between {GuestLayout.MinMemoryBytes >> 20} MiB and {GuestLayout.MaxMemoryBytes >> 30} GiB", "machine-create");

        var vm = hypervisor.CreateVm();
        HostMemory? hostMemory = null;
        DeviceManager? devices = null;
        var created = new List<IVcpu>();
        try
        {
            hostMemory = HostMemory.Allocate(config.MemoryBytes);
            vm.SetUserMemoryRegion(0, 0, hostMemory, MemoryRegionFlags.None);

            devices = new DeviceManager(vm, config.MemoryBytes);
            devices.AddDisks(config.Disks, config.Vcpus, inactive: config.IncomingMigration);
            devices.AddNics(config.Nics);

            for (int id = 0; id < config.Vcpus; id++) created.Add(vm.CreateVcpu(id));
            Boot(config, vm, created, devices);
            var threads = created.Select(vcpu => new VcpuThread(vcpu, devices.Bus)).ToArray();
            return new Machine(config, vm, hostMemory, devices, threads);
        }
        catch
        {
            devices?.Dispose();
            foreach (var v in created) v.Dispose();
            vm.Dispose();
            hostMemory?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads the configured image and sets the vCPUs' entry registers: the one place that knows every
    /// image kind. ELF and flat images get the VMM's long-mode setup and argument block on every vCPU
    /// (see <see cref="GuestLayout"/>); a Linux bzImage gets the Linux boot protocol on vCPU 0 (the
    /// others wait in their reset state for the kernel to start them, which needs KVM's local APICs).
    /// </summary>
    private static void Boot(MachineConfig config, IVm vm, IReadOnlyList<IVcpu> vcpus, DeviceManager devices)
    {
        if (config.Image is LinuxGuestImage linux)
        {
            if (vm.Hypervisor.Kind != BackendKind.Kvm)
                throw new VmmException("Linux direct boot is supported on the KVM backend only", "machine-create");
            var kernel = BzImage.Parse(ReadImage(linux.KernelPath));
            var initrd = linux.InitrdPath is null ? [] : ReadImage(linux.InitrdPath);
            // The MP table numbers pins from 0 (INTA#), the PCI interrupt pin register from 1.
            var routes = devices.Intx.Routes.Select(r => new PciInterruptRoute(r.Slot, r.Pin - 1, r.Gsi)).ToList();
            LinuxLoader.Load(vm.Memory, vcpus[0], kernel, initrd, linux.CommandLine, vcpus.Count, routes);
            return;
        }
        var image = config.Image switch
        {
            ElfGuestImage elf => ElfLoader.LoadFile(elf.Path, vm.Memory, config.MemoryBytes),
            BuiltInGuestImage builtIn => ElfLoader.LoadFile(BuiltInGuests.Find(builtIn.Name), vm.Memory, config.MemoryBytes),
            FlatGuestImage flat => FlatLoader.LoadFile(flat.Path, flat.LoadAddress, vm.Memory, config.MemoryBytes),
            null => throw new VmmException("the machine configuration has no guest image", "machine-create"),
            _ => throw new VmmException($"unknown guest image kind {config.Image.GetType().Name}", "machine-create"),
        };
        LongModeSetup.WriteTables(vm.Memory, config.MemoryBytes);
        var args = BootArguments.Write(vm.Memory, config.Args);
        foreach (var vcpu in vcpus)
        {
            vcpu.SetSpecialRegisters(LongModeSetup.InitialSpecialRegisters(vcpu.GetSpecialRegisters()));
            vcpu.SetRegisters(LongModeSetup.InitialRegisters(vcpu.Id, vcpus.Count, image.Entry, args, config.MemoryBytes));
            if (vcpu.Id != 0) vcpu.MakeRunnable();
        }
    }

    private static byte[] ReadImage(string path)
    {
        try { return File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VmmException($"cannot read {path}: {e.Message}", "machine-create", inner: e);
        }
    }

    /// <summary>Starts every vCPU. Allowed only in Created.</summary>
    /// <exception cref="VmmException">the machine is not in Created.</exception>
    public void Start()
    {
        lock (_gate)
        {
            RequireState("start", MachineRunState.Created);
            _state = MachineRunState.Running;
            _running = _vcpus.Length;
            _flushTimer = new Timer(_ => Serial.Flush(), null, SerialFlushPeriod, SerialFlushPeriod);
        }
        RunningChanged?.Invoke(true);
        Devices.Resume(); // devices of a restored machine wait for this
        foreach (var v in _vcpus) v.Start();
    }

    /// <summary>
    /// Creates the vCPU threads ahead of <see cref="Start"/> (they wait without entering the guest), so that the start of a
    /// machine received by a migration, inside the guest's pause, wakes threads instead of creating them. The machine stays
    /// Created; <see cref="Stop"/> or <see cref="Dispose"/> end the waiting threads. Does nothing unless Created.
    /// </summary>
    public void PrepareVcpuThreads()
    {
        lock (_gate)
        {
            if (_state != MachineRunState.Created) return;
            foreach (var v in _vcpus) v.Prepare();
        }
    }

    /// <summary>Gets every vCPU out of Run and parks it; returns once all are parked. Allowed only in Running.</summary>
    /// <exception cref="VmmException">the machine is not running.</exception>
    public void Pause()
    {
        lock (_gate)
        {
            RequireState("pause", MachineRunState.Running);
            _state = MachineRunState.Paused;
        }
        foreach (var v in _vcpus) v.Pause();
        RunningChanged?.Invoke(false);
        Devices.Pause();
        Serial.Flush();
    }

    /// <summary>Lets a paused machine run again; on a machine never started (for example one just
    /// restored from a snapshot) it is <see cref="Start"/>.</summary>
    /// <exception cref="VmmException">the machine is running or finished.</exception>
    public void Resume()
    {
        bool neverStarted;
        lock (_gate)
        {
            neverStarted = _state == MachineRunState.Created;
            if (!neverStarted)
            {
                RequireState("resume", MachineRunState.Paused);
                _state = MachineRunState.Running;
            }
        }
        if (neverStarted) Start();
        else
        {
            RunningChanged?.Invoke(true);
            Devices.Resume();
            foreach (var v in _vcpus) v.Resume();
        }
    }

    /// <summary>Ends every vCPU and returns once all have finished and <see cref="Exited"/> has been raised
    /// (on a vCPU thread it only asks them to stop); <see cref="Exited"/> reports
    /// <see cref="MachineExitKind.Stopped"/> unless the guest ended first. Does nothing once finished.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            if (_state == MachineRunState.Finished) return;
            _firstExit ??= new MachineExit(MachineExitKind.Stopped, null, "stopped by the VMM", -1);
            if (_state == MachineRunState.Created) _running = _vcpus.Length;
        }
        foreach (var v in _vcpus) v.Stop(wait: false);
        if (VcpuThread.Current is null) WaitForExit(Timeout.InfiniteTimeSpan);
    }

    /// <summary>Waits until the machine has finished and <see cref="Exited"/> has been raised, or until
    /// <paramref name="timeout"/> (which may be Timeout.InfiniteTimeSpan) passes; true when finished.
    /// Not for <see cref="Exited"/> handlers, which run before it returns.</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        bool forever = timeout == Timeout.InfiniteTimeSpan;
        var deadline = forever ? DateTime.MaxValue : DateTime.UtcNow + timeout;
        lock (_gate)
        {
            while (!_exitReported)
            {
                if (forever)
                {
                    Monitor.Wait(_gate);
                    continue;
                }
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return false;
                Monitor.Wait(_gate, left);
            }
            return true;
        }
    }

    /// <summary>Turns dirty-page logging on or off on every memory slot (for live migration).</summary>
    public void EnableDirtyLogging(bool on)
    {
        foreach (var slot in Memory.Slots.ToList())
        {
            var flags = on ? slot.Flags | MemoryRegionFlags.LogDirtyPages : slot.Flags & ~MemoryRegionFlags.LogDirtyPages;
            Vm.SetUserMemoryRegion(slot.Slot, slot.GuestPhysAddr, slot.Memory, flags);
        }
    }

    /// <summary>
    /// Throttles every vCPU to run guest code only (100 - <paramref name="percent"/>)% of the time
    /// (auto-converge for live migration; 0 lifts it). While throttled, a 10 ms timer kicks the
    /// vCPUs so that each slice ends and its sleep is taken (see <see cref="VcpuThread.ThrottlePercent"/>).
    /// </summary>
    public void SetThrottle(int percent)
    {
        foreach (var v in _vcpus) v.ThrottlePercent = percent;
        Timer? old;
        lock (_gate)
        {
            old = _throttleTimer;
            _throttleTimer = percent == 0 ? null : new Timer(_ => { foreach (var v in _vcpus) v.Vcpu.Kick(); }, null, 10, 10);
        }
        old?.Dispose();
    }

    /// <summary>Captures every vCPU's state, the VM-wide state and the devices' state (not memory).
    /// Allowed when Paused, or Created (a machine that has not run yet).</summary>
    /// <exception cref="VmmException">the machine is running or finished.</exception>
    public MachineSnapshot SaveState()
    {
        lock (_gate)
        {
            if (_state != MachineRunState.Paused && _state != MachineRunState.Created)
                throw new VmmException($"cannot save the state of a machine that is {_state}: pause it first", "machine-save");
            var vcpus = _vcpus.Select(v => v.Vcpu.SaveState()).ToList();
            return new MachineSnapshot(Vm.Hypervisor.Kind, _vcpus.Length, Config.MemoryBytes, vcpus, Vm.SaveState(), Devices.SaveState());
        }
    }

    /// <summary>Loads a snapshot into this machine, which must be freshly created (not started) with
    /// the same vCPU count and memory size. Guest memory is not part of it.</summary>
    /// <exception cref="VmmException">the machine has run, or the snapshot does not fit it.</exception>
    public void RestoreState(MachineSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        lock (_gate)
        {
            RequireState("restore a snapshot into", MachineRunState.Created);
            if (snapshot.VcpuCount != _vcpus.Length || snapshot.Vcpus.Count != _vcpus.Length)
                throw new VmmException($"snapshot has {snapshot.Vcpus.Count} vCPUs, the machine {_vcpus.Length}", "machine-restore");
            if (snapshot.MemoryBytes != Config.MemoryBytes)
                throw new VmmException($"snapshot is of a machine with {snapshot.MemoryBytes} bytes of memory, this one has {Config.MemoryBytes}", "machine-restore");
            if (snapshot.Backend != Vm.Hypervisor.Kind)
                throw new VmmException($"snapshot is from the {snapshot.Backend} backend, this machine runs on {Vm.Hypervisor.Kind}", "machine-restore");
            Vm.RestoreState(snapshot.Vm);
            foreach (var state in snapshot.Vcpus)
            {
                if (state.Id < 0 || state.Id >= _vcpus.Length)
                    throw new VmmException($"snapshot holds vCPU {state.Id}, the machine has {_vcpus.Length}", "machine-restore");
                _vcpus[state.Id].Vcpu.RestoreState(state);
            }
            Devices.RestoreState(snapshot.Devices);
        }
    }

    private void RequireState(string action, MachineRunState expected)
    {
        if (_state != expected)
            throw new VmmException($"cannot {action} a machine that is {_state} (it must be {expected})", "machine-state");
    }

    private void OnGuestExit(int status)
    {
        int vcpu = VcpuThread.Current?.Id ?? -1;
        lock (_gate) _firstExit ??= new MachineExit(MachineExitKind.GuestExit, status, $"the guest exited with status {status}", vcpu);
        foreach (var v in _vcpus) v.Stop(wait: false);
    }

    private void OnVcpuFinished(VcpuThread vcpu, MachineExit exit)
    {
        bool last;
        lock (_gate)
        {
            _firstExit ??= exit;
            last = --_running == 0;
        }
        if (!last)
        {
            foreach (var v in _vcpus)
                if (v != vcpu) v.Stop(wait: false);
            return;
        }
        Timer? timer, throttleTimer;
        MachineExit final;
        lock (_gate)
        {
            _state = MachineRunState.Finished;
            timer = _flushTimer;
            _flushTimer = null;
            throttleTimer = _throttleTimer;
            _throttleTimer = null;
            final = _firstExit;
            Monitor.PulseAll(_gate);
        }
        timer?.Dispose();
        throttleTimer?.Dispose();
        RunningChanged?.Invoke(false);
        Serial.Flush();
        Exited?.Invoke(final);
        lock (_gate)
        {
            _exitReported = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Stops the machine and releases the vCPUs, the VM and guest memory.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Stop();
        Devices.Dispose();
        foreach (var v in _vcpus) v.Vcpu.Dispose();
        Vm.Dispose();
        _hostMemory.Dispose();
    }
}
