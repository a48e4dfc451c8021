using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Cluster.Vmm.Tests.Emulated.Irqchip;

/// <summary>The in-kernel PIC and PIT of the emulated VM delivering interrupts to guest handlers.</summary>
public sealed class TimerInterruptTests
{
    private static void ProgramPic(Iced.Intel.Assembler a, byte masterMask)
    {
        foreach (var (port, val) in new (byte, byte)[] { (0x20, 0x11), (0x21, 0x20), (0x21, 4), (0x21, 1), (0xA0, 0x11), (0xA1, 0x28), (0xA1, 2), (0xA1, 1), (0x21, masterMask), (0xA1, 0xFF) })
        {
            a.mov(al, val);
            a.@out(port, al);
        }
    }

    [Fact]
    public void Pit_timer_interrupts_reach_the_guest_handler_while_it_halts()
    {
        using var m = new EmuTestMachine();
        ulong handler = EmuTestMachine.Code + 0x800;
        m.Load(handler, a =>
        {
            a.inc(r12);
            a.mov(al, 0x20);
            a.@out(0x20, al);
            a.iretq();
        });
        m.SetGate(0x20, handler);
        m.LoadCode(a =>
        {
            ProgramPic(a, 0xFE);
            a.mov(al, 0x34);
            a.@out(0x43, al);
            a.mov(al, 0xA9);
            a.@out(0x40, al);
            a.mov(al, 0x04);
            a.@out(0x40, al);
            a.xor(r12d, r12d);
            a.sti();
            var wait = a.CreateLabel();
            a.Label(ref wait);
            a.hlt();
            a.cmp(r12, 5);
            a.jb(wait);
            a.cli();
            a.hlt();
        });
        var e = m.Run();
        Assert.Equal(VcpuExitKind.Hlt, e.Kind);
        Assert.Equal(5UL, m.Regs.R12);
    }

    [Fact]
    public void Irq_line_set_by_the_vmm_interrupts_a_busy_loop()
    {
        using var m = new EmuTestMachine();
        ulong handler = EmuTestMachine.Code + 0x800;
        m.Load(handler, a =>
        {
            a.mov(r12d, 1);
            a.mov(al, 0x20);
            a.@out(0x20, al);
            a.iretq();
        });
        m.SetGate(0x24, handler);
        m.LoadCode(a =>
        {
            ProgramPic(a, 0xEF);
            a.mov(al, 0x99);
            a.@out(0xF0, al);
            a.xor(r12d, r12d);
            a.sti();
            var spin = a.CreateLabel();
            a.Label(ref spin);
            a.test(r12d, r12d);
            a.jz(spin);
            a.cli();
            a.hlt();
        });
        var e = m.Cpu.Run();
        Assert.Equal((VcpuExitKind.IoOut, (ushort)0xF0), (e.Kind, e.Port));
        m.Vm.SetIrqLine(4, true);
        m.Vm.SetIrqLine(4, false);
        Assert.Equal(VcpuExitKind.Hlt, m.Cpu.Run().Kind);
        Assert.Equal(1UL, m.Regs.R12);
    }
}
