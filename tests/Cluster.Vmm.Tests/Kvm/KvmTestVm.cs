using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Kvm;
using Cluster.Vmm.Loaders.Linux;
using Cluster.Vmm.Memory;
using Iced.Intel;

namespace Cluster.Vmm.Tests.Kvm;

/// <summary>
/// A KVM VM for tests: <see cref="MemorySize"/> bytes of dirty-logged memory at 0 in slot 0 and one vCPU,
/// code assembled with Iced at <see cref="CodeAddress"/>, runs guarded by a watchdog that kicks a stuck vCPU.
/// </summary>
internal sealed class KvmTestVm : IDisposable
{
    public const ulong MemorySize = 4UL << 20;
    public const ulong CodeAddress = 0x1000;
    public const ulong StackTop = 0x8000;

    public KvmTestVm(bool inKernelIrqchip = true)
    {
        Kvm = KvmHypervisor.Open();
        Vm = Kvm.CreateVm(inKernelIrqchip);
        Ram = HostMemory.Allocate(MemorySize);
        Vm.SetUserMemoryRegion(0, 0, Ram, MemoryRegionFlags.LogDirtyPages);
        Vcpu = Vm.CreateVcpu(0);
    }

    public KvmHypervisor Kvm { get; }
    public KvmVm Vm { get; }
    public HostMemory Ram { get; }
    public IVcpu Vcpu { get; }

    /// <summary>Loads 16-bit code at <see cref="CodeAddress"/> and points the vCPU at it in real mode (CS = 0).</summary>
    public void LoadRealMode(Action<Assembler> code)
    {
        Load(16, code);
        var s = Vcpu.GetSpecialRegisters();
        s.Cs.Base = 0;
        s.Cs.Selector = 0;
        Vcpu.SetSpecialRegisters(s);
        Vcpu.SetRegisters(new Registers { Rip = CodeAddress, Rsp = StackTop, Rflags = CpuBits.RflagsFixed });
    }

    /// <summary>Loads 64-bit code at <see cref="CodeAddress"/> and enters it in long mode with identity paging.</summary>
    public void LoadLongMode(Action<Assembler> code)
    {
        Load(64, code);
        LinuxBootCpu.Enter(Vcpu, Vm.Memory, CodeAddress, StackTop);
    }

    /// <summary>Assembles code for <paramref name="address"/> and writes it there.</summary>
    public void Load(int bitness, Action<Assembler> code, ulong address = CodeAddress)
    {
        var a = new Assembler(bitness);
        code(a);
        var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), address);
        Vm.Memory.Write(address, stream.ToArray());
    }

    /// <summary>Runs until the next exit; a vCPU still running after <paramref name="seconds"/> is kicked.</summary>
    public VcpuExit Run(double seconds = 20) => RunGuarded(Vcpu, seconds);

    public static VcpuExit RunGuarded(IVcpu vcpu, double seconds = 20)
    {
        using var watchdog = new Timer(_ => vcpu.Kick(), null, TimeSpan.FromSeconds(seconds), Timeout.InfiniteTimeSpan);
        return vcpu.Run();
    }

    public void Dispose()
    {
        Vm.Dispose();
        Ram.Dispose();
        Kvm.Dispose();
    }
}
