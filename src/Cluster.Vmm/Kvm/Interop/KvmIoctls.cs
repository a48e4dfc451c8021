namespace Cluster.Vmm.Kvm.Interop;

/// <summary>
/// The KVM ioctl request numbers with the kernel's names, built as &lt;asm-generic/ioctl.h&gt; builds
/// them (direction, size of the argument struct, type 0xAE, number); checked against the header by a test.
/// </summary>
internal static unsafe class KvmIoctls
{
    private const uint KVMIO = 0xAE;
    private const uint None = 0, Write = 1, Read = 2;

    private static nuint Ioc(uint dir, uint nr, int size) => (nuint)((dir << 30) | ((uint)size << 16) | (KVMIO << 8) | nr);
    private static nuint IO(uint nr) => Ioc(None, nr, 0);
    private static nuint IOR<T>(uint nr) where T : unmanaged => Ioc(Read, nr, sizeof(T));
    private static nuint IOW<T>(uint nr) where T : unmanaged => Ioc(Write, nr, sizeof(T));
    private static nuint IOWR<T>(uint nr) where T : unmanaged => Ioc(Read | Write, nr, sizeof(T));

    // System ioctls.
    public static readonly nuint KVM_GET_API_VERSION = IO(0x00);
    public static readonly nuint KVM_CREATE_VM = IO(0x01);
    public static readonly nuint KVM_GET_MSR_INDEX_LIST = IOWR<kvm_msr_list>(0x02);
    public static readonly nuint KVM_CHECK_EXTENSION = IO(0x03);
    public static readonly nuint KVM_GET_VCPU_MMAP_SIZE = IO(0x04);
    public static readonly nuint KVM_GET_SUPPORTED_CPUID = IOWR<kvm_cpuid2>(0x05);

    // VM ioctls.
    public static readonly nuint KVM_CREATE_VCPU = IO(0x41);
    public static readonly nuint KVM_GET_DIRTY_LOG = IOW<kvm_dirty_log>(0x42);
    public static readonly nuint KVM_SET_USER_MEMORY_REGION = IOW<kvm_userspace_memory_region>(0x46);
    public static readonly nuint KVM_SET_TSS_ADDR = IO(0x47);
    public static readonly nuint KVM_SET_IDENTITY_MAP_ADDR = IOW<ulong>(0x48);
    public static readonly nuint KVM_CREATE_IRQCHIP = IO(0x60);
    public static readonly nuint KVM_IRQ_LINE = IOW<kvm_irq_level>(0x61);
    public static readonly nuint KVM_GET_IRQCHIP = IOWR<kvm_irqchip>(0x62);
    public static readonly nuint KVM_SET_IRQCHIP = IOR<kvm_irqchip>(0x63);
    public static readonly nuint KVM_SET_CLOCK = IOW<kvm_clock_data>(0x7b);
    public static readonly nuint KVM_GET_CLOCK = IOR<kvm_clock_data>(0x7c);
    public static readonly nuint KVM_CREATE_PIT2 = IOW<kvm_pit_config>(0x77);
    public static readonly nuint KVM_GET_PIT2 = IOR<kvm_pit_state2>(0x9f);
    public static readonly nuint KVM_SET_PIT2 = IOW<kvm_pit_state2>(0xa0);
    public static readonly nuint KVM_SIGNAL_MSI = IOW<kvm_msi>(0xa5);
    public static readonly nuint KVM_ENABLE_CAP = IOW<kvm_enable_cap>(0xa3);
    public static readonly nuint KVM_CLEAR_DIRTY_LOG = IOWR<kvm_clear_dirty_log>(0xc0);

    // vCPU ioctls.
    public static readonly nuint KVM_RUN = IO(0x80);
    public static readonly nuint KVM_GET_REGS = IOR<kvm_regs>(0x81);
    public static readonly nuint KVM_SET_REGS = IOW<kvm_regs>(0x82);
    public static readonly nuint KVM_GET_SREGS = IOR<kvm_sregs>(0x83);
    public static readonly nuint KVM_SET_SREGS = IOW<kvm_sregs>(0x84);
    public static readonly nuint KVM_GET_MSRS = IOWR<kvm_msrs>(0x88);
    public static readonly nuint KVM_SET_MSRS = IOW<kvm_msrs>(0x89);
    public static readonly nuint KVM_GET_FPU = IOR<kvm_fpu>(0x8c);
    public static readonly nuint KVM_SET_FPU = IOW<kvm_fpu>(0x8d);
    public static readonly nuint KVM_GET_LAPIC = IOR<kvm_lapic_state>(0x8e);
    public static readonly nuint KVM_SET_LAPIC = IOW<kvm_lapic_state>(0x8f);
    public static readonly nuint KVM_SET_CPUID2 = IOW<kvm_cpuid2>(0x90);
    public static readonly nuint KVM_GET_MP_STATE = IOR<kvm_mp_state>(0x98);
    public static readonly nuint KVM_SET_MP_STATE = IOW<kvm_mp_state>(0x99);
    public static readonly nuint KVM_GET_VCPU_EVENTS = IOR<kvm_vcpu_events>(0x9f);
    public static readonly nuint KVM_SET_VCPU_EVENTS = IOW<kvm_vcpu_events>(0xa0);
    public static readonly nuint KVM_GET_XSAVE = IOR<kvm_xsave>(0xa4);
    public static readonly nuint KVM_SET_XSAVE = IOW<kvm_xsave>(0xa5);
    public static readonly nuint KVM_GET_XCRS = IOR<kvm_xcrs>(0xa6);
    public static readonly nuint KVM_SET_XCRS = IOW<kvm_xcrs>(0xa7);
}
