using System.Runtime.InteropServices;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Kvm.Interop;
using static Cluster.Vmm.Kvm.Interop.KvmConstants;

namespace Cluster.Vmm.Kvm;

/// <summary>
/// The KVM backend's system level: the /dev/kvm fd, its API version and capabilities, the CPUID that KVM
/// supports (given to every vCPU) and the MSRs that vCPU state captures.
/// </summary>
public sealed unsafe class KvmHypervisor : IHypervisor
{
    /// <summary>The capabilities without which the backend refuses to open, with their names for the reason.</summary>
    private static readonly (int Cap, string Name)[] RequiredCaps =
    [
        (KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"), (KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"),
        (KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"), (KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"), (KVM_CAP_PIT2, "KVM_CAP_PIT2"),
        (KVM_CAP_PIT_STATE2, "KVM_CAP_PIT_STATE2"), (KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"),
        (KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS"), (KVM_CAP_ADJUST_CLOCK, "KVM_CAP_ADJUST_CLOCK"),
        (KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"),
    ];

    /// <summary>Room for this many CPUID leaves at first (the kernel's KVM_MAX_CPUID_ENTRIES); doubled on E2BIG.</summary>
    private const int InitialCpuidEntries = 256;

    private readonly KvmFd _fd;
    private readonly object _msrGate = new();
    private uint[]? _savedMsrs;

    private KvmHypervisor(KvmFd fd)
    {
        _fd = fd;
        VcpuMmapSize = _fd.Ioctl("KVM_GET_VCPU_MMAP_SIZE", KvmIoctls.KVM_GET_VCPU_MMAP_SIZE);
        int maxVcpus = CheckExtension(KVM_CAP_MAX_VCPUS);
        MaxVcpus = maxVcpus > 0 ? maxVcpus : Math.Max(CheckExtension(KVM_CAP_NR_VCPUS), 4);
        int slots = CheckExtension(KVM_CAP_NR_MEMSLOTS);
        MaxMemorySlots = slots > 0 ? slots : 32;
        HasXsave = CheckExtension(KVM_CAP_XSAVE) > 0;
        HasXcrs = CheckExtension(KVM_CAP_XCRS) > 0;
        HasSignalMsi = CheckExtension(KVM_CAP_SIGNAL_MSI) > 0;
        HasManualDirtyLogProtect = (CheckExtension(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE) != 0;
        SupportedCpuid = ReadSupportedCpuid();
        CpuModel = CpuidNames.Describe(SupportedCpuid);
        MsrIndexList = ReadMsrIndexList();
    }

    /// <summary>KVM_CAP_SIGNAL_MSI: message-signalled interrupts can be injected with KVM_SIGNAL_MSI.</summary>
    public bool HasSignalMsi { get; }

    /// <summary>Opens /dev/kvm; false with the reason (device missing, wrong API version, a capability missing) otherwise.</summary>
    public static bool TryOpen(out KvmHypervisor? kvm, out string reason, string devicePath = "/dev/kvm")
    {
        kvm = null;
        // SAFETY: open(2) of a path; the fd is owned by the SafeHandle below or closed on every failure path.
        int raw = KvmNative.open(devicePath, KvmNative.O_RDWR | KvmNative.O_CLOEXEC);
        if (raw < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            reason = $"cannot open {devicePath}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
            return false;
        }
        return TryAdopt(new KvmFd(raw), devicePath, out kvm, out reason);
    }

    /// <summary>
    /// The backend over a /dev/kvm descriptor opened elsewhere (a node passes it to its worker, which then opens no device
    /// by path); the handle is duplicated, the caller keeps its own. False with the reason as <see cref="TryOpen"/>.
    /// </summary>
    public static bool TryFrom(Microsoft.Win32.SafeHandles.SafeFileHandle handle, out KvmHypervisor? kvm, out string reason)
    {
        kvm = null;
        int raw = Storage.Files.PosixImageFile.WithFd(handle, fd => Native.Libc.fcntl_int(fd, Native.Libc.F_DUPFD_CLOEXEC, 0));
        if (raw < 0)
        {
            reason = $"cannot duplicate the /dev/kvm descriptor (errno {Marshal.GetLastPInvokeError()})";
            return false;
        }
        return TryAdopt(new KvmFd(raw), "the passed /dev/kvm", out kvm, out reason);
    }

    /// <summary>Checks the API version and capabilities on <paramref name="fd"/>, which the result owns (closed on failure).</summary>
    private static bool TryAdopt(KvmFd fd, string devicePath, out KvmHypervisor? kvm, out string reason)
    {
        kvm = null;
        try
        {
            int version = fd.Ioctl("KVM_GET_API_VERSION", KvmIoctls.KVM_GET_API_VERSION);
            if (version != KVM_API_VERSION)
            {
                reason = $"{devicePath} speaks KVM API version {version}, this backend needs {KVM_API_VERSION}";
                fd.Dispose();
                return false;
            }
            var missing = RequiredCaps.Where(c => fd.Ioctl("KVM_CHECK_EXTENSION", KvmIoctls.KVM_CHECK_EXTENSION, (nuint)c.Cap) <= 0)
                .Select(c => c.Name).ToList();
            if (missing.Count > 0)
            {
                reason = $"{devicePath} lacks {string.Join(", ", missing)}";
                fd.Dispose();
                return false;
            }
            if (!KickSignal.TryInstall(out reason))
            {
                fd.Dispose();
                return false;
            }
            kvm = new KvmHypervisor(fd);
            reason = "";
            return true;
        }
        catch (VmmException e)
        {
            fd.Dispose();
            reason = e.Message;
            return false;
        }
    }

    /// <summary>Opens /dev/kvm or throws a <see cref="VmmException"/> with the reason.</summary>
    public static KvmHypervisor Open() =>
        TryOpen(out var kvm, out var reason) ? kvm! : throw new VmmException(reason, "open /dev/kvm");

    public BackendKind Kind => BackendKind.Kvm;
    public string Name => "kvm";
    public int MaxVcpus { get; }
    public int MaxMemorySlots { get; }
    public CpuModel CpuModel { get; }

    /// <summary>Size of the kvm_run mapping of each vCPU (KVM_GET_VCPU_MMAP_SIZE).</summary>
    internal int VcpuMmapSize { get; }
    internal bool HasXsave { get; }
    internal bool HasXcrs { get; }
    internal bool HasManualDirtyLogProtect { get; }

    /// <summary>KVM_GET_SUPPORTED_CPUID, given to every vCPU with KVM_SET_CPUID2.</summary>
    internal kvm_cpuid_entry2[] SupportedCpuid { get; }

    /// <summary>KVM_GET_MSR_INDEX_LIST: the MSRs KVM may save and restore (not all readable on this CPU).</summary>
    internal uint[] MsrIndexList { get; }

    internal KvmFd Fd => _fd;

    /// <summary>KVM_CHECK_EXTENSION on the system fd: 0 when absent, else the capability's value.</summary>
    public int CheckExtension(int capability) =>
        _fd.Ioctl("KVM_CHECK_EXTENSION", KvmIoctls.KVM_CHECK_EXTENSION, (nuint)capability);

    public IVm CreateVm() => new KvmVm(this, inKernelIrqchip: true);

    /// <summary>
    /// Creates a VM; without the in-kernel irqchip (PIC, IOAPIC, local APIC and PIT2 in the kernel) HLT exits to
    /// the VMM as <see cref="VcpuExitKind.Hlt"/> and <see cref="IVm.SetIrqLine"/> is refused.
    /// </summary>
    public KvmVm CreateVm(bool inKernelIrqchip) => new(this, inKernelIrqchip);

    /// <summary>The MSRs of the index list that a vCPU can actually read, learned once on the first vCPU.</summary>
    internal uint[] SavedMsrs(KvmVcpu probe)
    {
        lock (_msrGate)
            return _savedMsrs ??= MsrIndexList.Where(probe.CanReadMsr).ToArray();
    }

    private kvm_cpuid_entry2[] ReadSupportedCpuid()
    {
        for (int n = InitialCpuidEntries; ; n *= 2)
        {
            var buffer = new byte[sizeof(kvm_cpuid2) + n * sizeof(kvm_cpuid_entry2)];
            fixed (byte* p = buffer)
            {
                ((kvm_cpuid2*)p)->nent = (uint)n;
                // SAFETY: the buffer holds the header and n entries, as nent announces.
                int r = _fd.TryIoctl(KvmIoctls.KVM_GET_SUPPORTED_CPUID, p, out int errno);
                if (r < 0 && errno == KvmNative.E2BIG && n < 4096) continue;
                if (r < 0) throw KvmFd.Failure("KVM_GET_SUPPORTED_CPUID", errno);
                int count = (int)((kvm_cpuid2*)p)->nent;
                // SAFETY: the kernel wrote count (<= n) entries after the header.
                return new ReadOnlySpan<kvm_cpuid_entry2>(p + sizeof(kvm_cpuid2), count).ToArray();
            }
        }
    }

    private uint[] ReadMsrIndexList()
    {
        kvm_msr_list probe = default;
        // SAFETY: nmsrs = 0 announces no room; the kernel only writes the header and fails with E2BIG.
        int r = _fd.TryIoctl(KvmIoctls.KVM_GET_MSR_INDEX_LIST, &probe, out int errno);
        if (r >= 0) return [];
        if (errno != KvmNative.E2BIG) throw KvmFd.Failure("KVM_GET_MSR_INDEX_LIST", errno);
        int n = (int)probe.nmsrs;
        var buffer = new uint[1 + n];
        fixed (uint* p = buffer)
        {
            p[0] = (uint)n;
            // SAFETY: the buffer holds the header and n indices, as nmsrs announces.
            _fd.Ioctl("KVM_GET_MSR_INDEX_LIST", KvmIoctls.KVM_GET_MSR_INDEX_LIST, p);
            return buffer.AsSpan(1, (int)p[0]).ToArray();
        }
    }

    public void Dispose() => _fd.Dispose();
}
