namespace Cluster.Vmm.Hypervisor;

/// <summary>
/// The vCPU level of the KVM API (the vCPU fd). <see cref="Run"/> runs guest code on the calling
/// thread until an exit the VMM must handle; everything but <see cref="Kick"/> must be called on
/// the thread that owns the vCPU while it is not running.
/// </summary>
public interface IVcpu : IDisposable
{
    int Id { get; }

    /// <summary>KVM_RUN: runs until an exit. After an <see cref="VcpuExitKind.IoIn"/> or
    /// <see cref="VcpuExitKind.MmioRead"/> exit, call <see cref="CompleteRead"/> before running again.</summary>
    VcpuExit Run();

    /// <summary>Supplies the value of the read that caused the last IoIn or MmioRead exit.</summary>
    void CompleteRead(ulong value);

    /// <summary>Makes a running (or the next) <see cref="Run"/> return <see cref="VcpuExitKind.Interrupted"/> promptly. Any thread.</summary>
    void Kick();

    Registers GetRegisters();
    void SetRegisters(in Registers registers);
    SpecialRegisters GetSpecialRegisters();
    void SetSpecialRegisters(in SpecialRegisters registers);

    /// <summary>KVM_GET_MSRS: fills the values of the given indices; unknown indices are an error.</summary>
    void GetMsrs(Span<MsrEntry> entries);
    void SetMsrs(ReadOnlySpan<MsrEntry> entries);

    /// <summary>The MSR indices that <see cref="SaveState"/> captures.</summary>
    IReadOnlyList<uint> SupportedMsrs { get; }

    /// <summary>Captures the whole vCPU state (registers, MSRs, FPU, local APIC, pending events).</summary>
    VcpuState SaveState();

    /// <summary>Loads a state captured by <see cref="SaveState"/> on the same kind of backend.</summary>
    void RestoreState(VcpuState state);

    /// <summary>Guest CPU time consumed by <see cref="Run"/> so far (for load accounting).</summary>
    TimeSpan GuestTime { get; }

    /// <summary>
    /// KVM_SET_MP_STATE(KVM_MP_STATE_RUNNABLE): lets a vCPU other than the bootstrap processor run from the
    /// registers the VMM gave it at the next <see cref="Run"/>, instead of waiting for the guest's INIT/SIPI
    /// (with an in-kernel local APIC, KVM creates such vCPUs waiting). The VMM calls it when it starts every
    /// vCPU at the same entry. Backends whose vCPUs always run from their registers keep this default.
    /// </summary>
    void MakeRunnable()
    {
    }
}
