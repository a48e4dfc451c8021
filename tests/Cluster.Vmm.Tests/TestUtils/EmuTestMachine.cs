using Cluster.Vmm.Emulated;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Memory;
using Iced.Intel;

namespace Cluster.Vmm.Tests.TestUtils;

/// <summary>
/// A one-vCPU emulated VM set up for tests: 16 MiB of RAM, identity-mapped by 2 MiB pages over the
/// first GiB, a flat GDT (64-bit kernel code 0x08, data 0x10, 32-bit code 0x18, user data 0x23,
/// user code 0x2b, TSS 0x30), an empty IDT, and helpers to load assembled code and run to HLT.
/// </summary>
internal sealed class EmuTestMachine : IDisposable
{
    public const ulong Pml4 = 0x1000, Pdpt = 0x2000, Pd = 0x3000, Gdt = 0x5000, Idt = 0x6000, Tss = 0x7000;
    public const ulong Code = 0x10000, StackTop = 0x80000, Data = 0x100000;
    public const ulong MemSize = 16 << 20;

    public EmuTestMachine(bool logDirty = false, int vcpus = 1, bool longMode = true, int maxCodePages = EmulatedHypervisor.DefaultMaxCodePages)
    {
        Hypervisor = new EmulatedHypervisor { MaxCodePages = maxCodePages };
        Vm = (EmulatedVm)Hypervisor.CreateVm();
        Memory = HostMemory.Allocate(MemSize);
        Vm.SetUserMemoryRegion(0, 0, Memory, logDirty ? MemoryRegionFlags.LogDirtyPages : MemoryRegionFlags.None);
        for (int i = 0; i < vcpus; i++) Vcpus.Add((EmulatedVcpu)Vm.CreateVcpu(i));
        WriteTables();
        if (longMode)
            foreach (var v in Vcpus) EnterLongMode(v);
        if (logDirty) Vm.GetDirtyLog(0);
    }

    public EmulatedHypervisor Hypervisor { get; }
    public EmulatedVm Vm { get; }
    public HostMemory Memory { get; }
    public List<EmulatedVcpu> Vcpus { get; } = [];
    public EmulatedVcpu Cpu => Vcpus[0];

    private void WriteTables()
    {
        var m = Vm.Memory;
        // Accessed and dirty bits preset, so that page walks write nothing and dirty logs are exact.
        m.WriteU64(Pml4, Pdpt | 0x27);
        m.WriteU64(Pdpt, Pd | 0x27);
        for (ulong i = 0; i < 512; i++) m.WriteU64(Pd + i * 8, (i << 21) | 0xE7);
        ulong[] gdt = [0, 0x00AF9A000000FFFF, 0x00CF92000000FFFF, 0x00CF9A000000FFFF, 0x00CFF2000000FFFF, 0x00AFFA000000FFFF];
        for (int i = 0; i < gdt.Length; i++) m.WriteU64(Gdt + (ulong)i * 8, gdt[i]);
        ulong tssDesc = 0x67 | ((Tss & 0xFFFFFF) << 16) | (0x89UL << 40) | ((Tss >> 24) << 56);
        m.WriteU64(Gdt + 0x30, tssDesc);
        m.WriteU64(Gdt + 0x38, Tss >> 32);
    }

    /// <summary>Puts the vCPU in real mode at 0000:<paramref name="ip"/> (segments based at 0, 64 KiB limits).</summary>
    public void SetRealMode(ulong ip)
    {
        var sr = Cpu.GetSpecialRegisters();
        var seg = new Segment { Selector = 0, Base = 0, Limit = 0xFFFF, Type = 3, S = true, Present = true };
        sr.Ds = sr.Es = sr.Ss = sr.Fs = sr.Gs = seg;
        seg.Type = 0xB;
        sr.Cs = seg;
        sr.Cr0 = CpuBits.Cr0Et;
        sr.Cr4 = 0;
        sr.Efer = 0;
        Cpu.SetSpecialRegisters(sr);
        Cpu.SetRegisters(new Registers { Rip = ip, Rsp = 0x7000, Rflags = 2 });
    }

    public static Segment FlatCode64(ushort sel = 8, byte dpl = 0) => new() { Selector = sel, Limit = 0xFFFFFFFF, Type = 0xB, S = true, Present = true, L = true, G = true, Dpl = dpl };
    public static Segment FlatData(ushort sel = 0x10, byte dpl = 0) => new() { Selector = sel, Limit = 0xFFFFFFFF, Type = 3, S = true, Present = true, Db = true, G = true, Dpl = dpl };

    private static void EnterLongMode(EmulatedVcpu v)
    {
        var sr = v.GetSpecialRegisters();
        sr.Cs = FlatCode64();
        sr.Ds = sr.Es = sr.Ss = sr.Fs = sr.Gs = FlatData();
        sr.Tr = new Segment { Selector = 0x30, Base = Tss, Limit = 0x67, Type = 0xB, Present = true };
        sr.Gdt = new DescriptorTable { Base = Gdt, Limit = 0x3F };
        sr.Idt = new DescriptorTable { Base = Idt, Limit = 0xFFF };
        sr.Cr0 = CpuBits.Cr0Pe | CpuBits.Cr0Pg | CpuBits.Cr0Et | CpuBits.Cr0Wp | CpuBits.Cr0Ne;
        sr.Cr3 = Pml4;
        sr.Cr4 = CpuBits.Cr4Pae;
        sr.Efer = CpuBits.EferLme | CpuBits.EferLma | CpuBits.EferNxe | CpuBits.EferSce;
        v.SetSpecialRegisters(sr);
        v.SetRegisters(new Registers { Rip = Code, Rsp = StackTop, Rflags = 2 });
    }

    /// <summary>Assembles 64-bit code at <paramref name="address"/> and writes it to guest memory.</summary>
    public ulong Load(ulong address, Action<Assembler> build, int bitness = 64)
    {
        var bytes = EmuAsm.Assemble(bitness, address, build);
        Vm.Memory.Write(address, bytes);
        return address + (ulong)bytes.Length;
    }

    /// <summary>Loads code at <see cref="Code"/> and points RIP of every vCPU at it.</summary>
    public void LoadCode(Action<Assembler> build)
    {
        Load(Code, build);
        foreach (var v in Vcpus)
        {
            var r = v.GetRegisters();
            r.Rip = Code;
            v.SetRegisters(r);
        }
    }

    /// <summary>Writes a 64-bit interrupt gate for <paramref name="vector"/> to <paramref name="handler"/>.</summary>
    public void SetGate(int vector, ulong handler, int ist = 0, int dpl = 0)
    {
        ulong lo = (handler & 0xFFFF) | (8UL << 16) | ((ulong)ist << 32) | (0x8EUL << 40) | ((ulong)dpl << 45) | (((handler >> 16) & 0xFFFF) << 48);
        Vm.Memory.WriteU64(Idt + (ulong)vector * 16, lo);
        Vm.Memory.WriteU64(Idt + (ulong)vector * 16 + 8, handler >> 32);
    }

    /// <summary>Runs until an exit other than port output (which is collected) and returns it.</summary>
    public VcpuExit Run(List<(ushort Port, ulong Data)>? outputs = null, int maxExits = 10000)
    {
        for (int i = 0; i < maxExits; i++)
        {
            var e = Cpu.Run();
            if (e.Kind == VcpuExitKind.IoOut && outputs is not null)
            {
                outputs.Add((e.Port, e.Data));
                continue;
            }
            return e;
        }
        throw new InvalidOperationException("too many exits");
    }

    public Registers Regs
    {
        get => Cpu.GetRegisters();
        set => Cpu.SetRegisters(value);
    }

    public void Dispose()
    {
        Vm.Dispose();
        Memory.Dispose();
        Hypervisor.Dispose();
    }
}
