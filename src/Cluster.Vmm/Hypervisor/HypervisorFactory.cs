namespace Cluster.Vmm.Hypervisor;

/// <summary>Opens the CPU backend a user asked for: KVM, the emulator, or KVM when usable and the emulator otherwise.</summary>
public static class HypervisorFactory
{
    /// <summary>
    /// Opens a backend. <paramref name="reason"/> says which one was chosen and why (for the log);
    /// <paramref name="emulatorCodePages"/> bounds each emulated vCPU's decoded-code cache.
    /// </summary>
    /// <exception cref="VmmException">KVM asked for explicitly and not available; the message says why.</exception>
    public static IHypervisor Create(BackendKind kind, out string reason, int emulatorCodePages = Emulated.EmulatedHypervisor.DefaultMaxCodePages)
    {
        IHypervisor CreateEmulated() => new Emulated.EmulatedHypervisor { MaxCodePages = emulatorCodePages };

        switch (kind)
        {
            case BackendKind.Emulated:
                reason = "emulated backend requested";
                return CreateEmulated();
            case BackendKind.Kvm:
                if (TryOpenKvm(out var kvm, out var why))
                {
                    reason = "kvm backend requested";
                    return kvm!;
                }
                throw new VmmException($"KVM backend not available: {why}", "backend");
            case BackendKind.Auto:
                if (TryOpenKvm(out var auto, out var autoWhy))
                {
                    reason = "kvm available";
                    return auto!;
                }
                reason = $"KVM not available ({autoWhy}); using the emulator";
                return CreateEmulated();
            default:
                throw new VmmException($"unknown backend kind {kind}", "backend");
        }
    }

    private static bool TryOpenKvm(out IHypervisor? kvm, out string reason)
    {
        bool opened = Kvm.KvmHypervisor.TryOpen(out var hypervisor, out reason);
        kvm = hypervisor;
        return opened;
    }
}
