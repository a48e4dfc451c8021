using Cluster.Vmm.Hypervisor;

namespace Cluster.Vmm.Emulated;

/// <summary>The software x86-64 backend: the stand-in for /dev/kvm where it is absent.</summary>
public sealed class EmulatedHypervisor : IHypervisor
{
    public BackendKind Kind => BackendKind.Emulated;
    public string Name => "emulated";
    public int MaxVcpus => 64;
    public int MaxMemorySlots => 32;
    public CpuModel CpuModel { get; } = new(EmulatedCpuid.Vendor, EmulatedCpuid.Features);

    /// <summary>
    /// Entries of a block before it is compiled to IL, for the vCPUs created after it is set: tests
    /// set 1 to run every block compiled, or <see cref="int.MaxValue"/> to run everything interpreted.
    /// </summary>
    internal int JitThreshold { get; init; } = 500;

    /// <summary>Whether hot blocks compile on the thread pool while the vCPU interprets them (tests switch it off to run compiled code at once).</summary>
    internal bool CompileInBackground { get; init; } = true;

    /// <summary>The default of <see cref="MaxCodePages"/>: 4096 pages, 16 MiB of guest code per vCPU.</summary>
    public const int DefaultMaxCodePages = Cpu.CodeCache.DefaultMaxPages;

    private readonly int _maxCodePages = DefaultMaxCodePages;

    /// <summary>
    /// The bound of each vCPU's decoded-code cache, in guest pages, for the vCPUs created after it is
    /// set: one page more flushes the cache (see README.md, "Bounds").
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">below 1.</exception>
    public int MaxCodePages
    {
        get => _maxCodePages;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _maxCodePages = value;
        }
    }

    public IVm CreateVm() => new EmulatedVm(this);

    public void Dispose()
    {
    }
}
