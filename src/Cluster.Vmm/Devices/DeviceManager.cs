using Cluster.Vmm.Devices.Exit;
using Cluster.Vmm.Devices.Pci;
using Cluster.Vmm.Devices.Serial;
using Cluster.Vmm.Devices.Virtio;
using Cluster.Vmm.Devices.VirtioBlock;
using Cluster.Vmm.Devices.VirtioNet;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Native;
using Cluster.Vmm.Storage;

namespace Cluster.Vmm.Devices;

/// <summary>
/// The devices of one machine, owned by it: COM1 (uart0), the exit port, PCI bus 0 behind
/// configuration mechanism 1 with its host bridge, and one virtio-pci function per disk and per NIC. It
/// registers port devices on the <see cref="IoBus"/>, puts PCI functions into slots, assigns their
/// BARs from the MMIO window below 4 GiB (as firmware would, memory decoding on) and their INTx
/// routes, and is the one place that lists devices for state capture (one named, versioned
/// <see cref="DeviceSection"/> each), pausing (drain) and counters. Adding a kind of device means a
/// folder under Devices/ and a line here; the machine, the snapshot format and the migration protocol
/// stay as they are.
/// </summary>
public sealed class DeviceManager : IDisposable
{
    /// <summary>The window PCI memory BARs are assigned from: above the RAM of a guest of up to 3 GiB,
    /// below the I/O APIC (a BAR the guest moves between there and 4 GiB, over the APICs, stays unmapped).</summary>
    public const ulong MmioWindowStart = 0xc000_0000, MmioWindowEnd = 0xfec0_0000;

    private readonly IVm _vm;
    private readonly ulong _ramEnd;
    private readonly List<IDevice> _devices = [];
    private ulong _nextBar = MmioWindowStart;
    private bool _disposed;

    /// <summary>The bus, the serial port and the exit port of a VM whose RAM ends at <paramref name="ramEnd"/>.</summary>
    public DeviceManager(IVm vm, ulong ramEnd)
    {
        _vm = vm ?? throw new ArgumentNullException(nameof(vm));
        _ramEnd = ramEnd;
        Bus = new IoBus();
        Serial = new Uart16550(level => vm.SetIrqLine(Uart16550.Com1Irq, level));
        ExitDevice = new ExitDevice();
        Bus.RegisterPorts(Uart16550.Com1Port, Uart16550.PortCount, Serial);
        Bus.RegisterPorts(ExitDevice.DefaultPort, 1, ExitDevice);
        _devices.Add(Serial);
        _devices.Add(ExitDevice);
        Pci = new PciRoot(Bus, (start, length) => start < _ramEnd || start + length < start || start + length > MmioWindowEnd && start < 1UL << 32);
        Bus.RegisterPorts(PciRoot.ConfigAddressPort, PciRoot.PortCount, Pci);
        Intx = new IntxRouter(vm);
        AddPci(new PciHostBridge(), slot: 0);
    }

    /// <summary>The port-I/O and MMIO bus.</summary>
    public IoBus Bus { get; }

    /// <summary>COM1.</summary>
    public Uart16550 Serial { get; }

    /// <summary>The exit port.</summary>
    public ExitDevice ExitDevice { get; }

    /// <summary>PCI bus 0.</summary>
    public PciRoot Pci { get; }

    /// <summary>INTx routing.</summary>
    public IntxRouter Intx { get; }

    /// <summary>Every device, in the order added.</summary>
    public IReadOnlyList<IDevice> Devices => _devices;

    /// <summary>The virtio-blk devices, in the order of the machine's disks.</summary>
    public IEnumerable<VirtioBlockDevice> Disks => _devices.OfType<VirtioPciTransport>().Select(t => t.Device).OfType<VirtioBlockDevice>();

    /// <summary>The disk and network traffic of every disk and NIC so far (see <see cref="Cluster.Vmm.Devices.IoCounters"/>); safe from any thread.</summary>
    public IoCounters IoCounters()
    {
        var sum = default(IoCounters);
        foreach (var disk in Disks)
            sum += disk.IoCounters;
        foreach (var nic in Nics)
            sum += nic.IoCounters;
        return sum;
    }

    /// <summary>Adds one virtio-blk device per disk of <paramref name="disks"/>, with
    /// <paramref name="queues"/> queues each, numbered after the disks already added; images are
    /// opened (and locked) here, unless <paramref name="inactive"/> (a migration target: see
    /// <see cref="HandoverDiskImage"/>), with <paramref name="ioThreads"/> I/O threads per queue.</summary>
    /// <exception cref="VmmException">an image that cannot be opened, or no room for the device.</exception>
    public void AddDisks(IReadOnlyList<DiskConfig> disks, int queues, bool inactive = false, int ioThreads = VirtioBlockDevice.DefaultIoThreads)
    {
        int first = Disks.Count();
        for (int i = 0; i < disks.Count; i++)
        {
            var d = disks[i];
            int n = first + i;
            var image = new HandoverDiskImage(d.Path, d.Format, d.ReadOnly, d.Cache, active: !inactive, d.Files);
            try
            {
                var device = new VirtioBlockDevice($"virtio-blk{n}", image, queues, d.Serial ?? DefaultSerial(n), ioThreads);
                AddPci(new VirtioPciTransport(_vm, device));
            }
            catch
            {
                image.Dispose();
                throw;
            }
        }
    }

    /// <summary>The virtio-net devices, in the order of the machine's NICs.</summary>
    public IEnumerable<VirtioNetDevice> Nics => _devices.OfType<VirtioPciTransport>().Select(t => t.Device).OfType<VirtioNetDevice>();

    /// <summary>Adds one virtio-net device per NIC of <paramref name="nics"/> ("virtio-net0", ...), each over its tap:
    /// the fd given (<see cref="NicConfig.TapFd"/>) or the interface opened by name.</summary>
    /// <exception cref="VmmException">a bad NIC config, a tap that cannot be opened, or no room for the device.</exception>
    public void AddNics(IReadOnlyList<NicConfig> nics)
    {
        int first = Nics.Count();
        for (int i = 0; i < nics.Count; i++)
        {
            var nic = nics[i];
            nic.Validate(first + i);
            var tap = nic.TapFd is { } fd ? TapDevice.Adopt(fd) : TapDevice.Open(nic.Tap!);
            VirtioNetDevice? device = null;
            try
            {
                device = new VirtioNetDevice($"virtio-net{first + i}", tap, nic.MacBytes(), nic.Mtu);
                AddPci(new VirtioPciTransport(_vm, device));
            }
            catch
            {
                if (device is not null) device.Dispose();
                else tap.Dispose();
                throw;
            }
        }
    }

    /// <summary>vda, vdb, ..., vdz, vdaa, ...: the name Linux gives the disk, as the serial nobody chose.</summary>
    private static string DefaultSerial(int n)
    {
        string letters = "";
        for (n++; n > 0; n = (n - 1) / 26) letters = (char)('a' + (n - 1) % 26) + letters;
        return "vd" + letters;
    }

    /// <summary>Puts <paramref name="function"/> on bus 0 (the lowest free slot unless given), assigns
    /// its BARs and its INTx route, and turns memory decoding on.</summary>
    public int AddPci(PciFunction function, int? slot = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (_devices.Any(d => d.Name == function.Name)) throw new VmmException($"a device named '{function.Name}' exists already", "device-add");
        int s = slot ?? Pci.FreeSlot();
        if (s < 0) throw new VmmException("PCI bus 0 has no free slot", "device-add");
        bool hasBars = false;
        foreach (var bar in function.Config.Bars)
        {
            if (bar is null) continue;
            ulong address = (_nextBar + bar.Size - 1) & ~(bar.Size - 1);
            if (address + bar.Size > MmioWindowEnd)
                throw new VmmException($"no room for {function.Name}'s BAR {bar.Index} in the PCI window", "device-add");
            if (_ramEnd > MmioWindowStart)
                throw new VmmException($"a VM with PCI devices can have at most {MmioWindowStart >> 20} MiB of memory (the PCI window starts there); it has {_ramEnd >> 20} MiB", "device-add");
            function.Config.SetBarAddress(bar.Index, address);
            _nextBar = address + bar.Size;
            hasBars = true;
        }
        if (hasBars) function.Config.SetCommand(PciConfigSpace.CommandMemory);
        if (function.UsesIntx)
        {
            var line = Intx.Connect(s);
            function.Config.SetInterrupt(1, (byte)line.Gsi);
            function.AttachIntx(line);
        }
        Pci.Attach(s, function);
        _devices.Add(function);
        return s;
    }

    /// <summary>Flushes and closes every disk image, releasing its lock: the migration source's step
    /// once its guest is paused and drained, before the target takes the disks.</summary>
    /// <exception cref="VmmException">a flush failed.</exception>
    public void DeactivateDisks()
    {
        foreach (var d in Disks) if (d.Image is HandoverDiskImage image) image.Deactivate();
    }

    /// <summary>Opens and locks every disk image (the target before its guest resumes; the source
    /// again when a migration fails).</summary>
    /// <exception cref="VmmException">an image cannot be opened or locked, or is not the source's disk.</exception>
    public void ActivateDisks()
    {
        foreach (var d in Disks) if (d.Image is HandoverDiskImage image) image.Activate();
    }

    /// <summary>Stops every device's own work and waits for requests in flight (for a pause or a snapshot).</summary>
    public void Pause()
    {
        foreach (var d in _devices.OfType<IPausable>()) d.Pause();
    }

    /// <summary>Lets every device work again.</summary>
    public void Resume()
    {
        foreach (var d in _devices.OfType<IPausable>()) d.Resume();
    }

    /// <summary>One section per device that keeps state.</summary>
    public IReadOnlyList<DeviceSection> SaveState() =>
        _devices.OfType<ISnapshottable>().Select(d => new DeviceSection(d.Name, d.StateVersion, d.SaveState())).ToList();

    /// <summary>Loads the sections of a snapshot into these devices, which must be the same set. The
    /// devices stay paused until <see cref="Resume"/> (the machine's start): a restored queue must not
    /// run before the guest's memory is complete and the machine runs (post-copy installs its map of
    /// missing pages after the restore).</summary>
    /// <exception cref="VmmException">a device without a section, a section without a device, a section of another version.</exception>
    public void RestoreState(IReadOnlyList<DeviceSection> sections)
    {
        var byName = new Dictionary<string, DeviceSection>();
        foreach (var s in sections)
            if (!byName.TryAdd(s.Name, s)) throw new VmmException($"the snapshot holds device '{s.Name}' twice", "machine-restore");
        Pause();
        var devices = _devices.OfType<ISnapshottable>().ToList();
        foreach (var name in byName.Keys.Except(devices.Select(d => d.Name)))
            throw new VmmException($"the snapshot holds state for device '{name}', which this machine does not have", "machine-restore");
        foreach (var d in devices)
        {
            if (!byName.TryGetValue(d.Name, out var s))
                throw new VmmException($"the snapshot has no state for device '{d.Name}'", "machine-restore");
            if (s.Version != d.StateVersion)
                throw new VmmException($"device '{d.Name}': the snapshot's state is version {s.Version}, this VMM reads version {d.StateVersion}", "machine-restore");
            d.RestoreState(s.Data);
        }
        Pci.RemapAll();
    }

    /// <summary>Every device's counters, by device name.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> Counters() =>
        _devices.OfType<IDeviceCounters>().ToDictionary(d => d.Name, d => d.Counters);

    /// <summary>Stops the devices' I/O threads and closes their back-ends (image files).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var d in _devices.OfType<IDisposable>()) d.Dispose();
    }
}
