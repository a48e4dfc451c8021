using Cluster.Vmm.Hypervisor;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Cluster.Vmm.Tests.Kvm;

/// <summary>Saving a KVM vCPU stopped inside an I/O exit (KvmVcpu.Pending.cs).</summary>
public class KvmVcpuPendingTests
{
    private const ulong Buffer = 0x3000;
    private const int Length = 200;
    private const ushort DataPort = 0x300, DonePort = 0x10;

    [KvmFact]
    public void A_vcpu_saved_in_the_middle_of_rep_insb_continues_on_both_sides_with_every_byte_read_once()
    {
        using var source = new KvmTestVm();
        source.LoadLongMode(ReadIntoBuffer);
        for (int i = 1; i <= 10; i++) Serve(source, (byte)i);

        var state = source.Vcpu.SaveState();

        using var target = new KvmTestVm();
        var ram = new byte[KvmTestVm.MemorySize];
        source.Vm.Memory.Read(0, ram);
        target.Vm.Memory.Write(0, ram);
        target.Vcpu.RestoreState(state);
        foreach (var side in new[] { source, target })
        {
            int next = 11;
            var exit = side.Run();
            for (; exit.Kind == VcpuExitKind.IoIn; exit = side.Run())
            {
                Assert.Equal(DataPort, exit.Port);
                side.Vcpu.CompleteRead((byte)next++);
            }
            Assert.Equal((VcpuExitKind.IoOut, DonePort), (exit.Kind, exit.Port));
            Assert.Equal(Length + 1, next);
            var bytes = new byte[Length];
            side.Vm.Memory.Read(Buffer, bytes);
            Assert.Equal(Enumerable.Range(1, Length).Select(b => (byte)b), bytes);
            Assert.Equal(0UL, side.Vcpu.GetRegisters().Rcx);
        }
    }

    private static void ReadIntoBuffer(Assembler a)
    {
        a.cld();
        a.mov(edi, (uint)Buffer);
        a.mov(ecx, Length);
        a.mov(dx, DataPort);
        a.rep.insb();
        a.mov(dx, DonePort);
        a.@out(dx, al);
        a.hlt();
    }

    private static void Serve(KvmTestVm vm, byte value)
    {
        var exit = vm.Run();
        Assert.Equal((VcpuExitKind.IoIn, DataPort), (exit.Kind, exit.Port));
        vm.Vcpu.CompleteRead(value);
    }
}
