using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Cluster.Vmm.Tests.Emulated;

/// <summary>REP MOVS/STOS over whole pages: the same memory and registers as element by element, dirty logs, code writes, MMIO mid-way.</summary>
public sealed class EmulatedVcpuStringTests
{
    private const ulong Window = EmuTestMachine.Data, WindowSize = 0x20000;

    public static TheoryData<string, int, bool, ulong, ulong, ulong> Runs => new()
    {
        // op, element size, DF, source offset, destination offset, count
        { "movs", 1, false, 3, 0x8005, 10_000 },
        { "movs", 8, true, 0x6000, 0x12001, 1_500 },
        { "movs", 4, false, 0x100, 0x104, 3_000 },
        { "movs", 2, true, 0x4002, 0x4000, 2_500 },
        { "movs", 1, false, 0x1000, 0x1000, 5_000 },
        { "stos", 1, false, 0, 0x0FFF, 9_000 },
        { "stos", 4, true, 0, 0x9FFE, 4_000 },
        { "stos", 8, false, 0, 0x3004, 2_000 },
        { "stos", 2, false, 0, 0x5000, 1 },
    };

    [Theory]
    [MemberData(nameof(Runs))]
    public void Rep_string_runs_leave_the_memory_and_registers_of_one_element_at_a_time(string op, int size, bool down, ulong srcOff, ulong dstOff, ulong count)
    {
        using var m = new EmuTestMachine();
        var rng = new Random((int)(srcOff ^ dstOff ^ count));
        var before = new byte[WindowSize];
        rng.NextBytes(before);
        m.Vm.Memory.Write(Window, before);
        m.LoadCode(a =>
        {
            switch (op, size)
            {
                case ("movs", 1): a.rep.movsb(); break;
                case ("movs", 2): a.rep.movsw(); break;
                case ("movs", 4): a.rep.movsd(); break;
                case ("movs", 8): a.rep.movsq(); break;
                case (_, 1): a.rep.stosb(); break;
                case (_, 2): a.rep.stosw(); break;
                case (_, 4): a.rep.stosd(); break;
                default: a.rep.stosq(); break;
            }
            a.hlt();
        });
        const ulong Rax = 0x1122_3344_5566_7788;
        m.Regs = m.Regs with { Rsi = Window + srcOff, Rdi = Window + dstOff, Rcx = count, Rax = Rax, Rflags = down ? 0x402UL : 2 };

        var expected = (byte[])before.Clone();
        long si = (long)srcOff, di = (long)dstOff, step = down ? -size : size;
        for (ulong i = 0; i < count; i++, di += step)
        {
            for (int b = 0; b < size; b++)
                expected[di + b] = op == "movs" ? expected[si + b] : (byte)(Rax >> (8 * b));
            if (op == "movs") si += step;
        }

        Assert.Equal(VcpuExitKind.Hlt, m.Run().Kind);
        var after = new byte[WindowSize];
        m.Vm.Memory.Read(Window, after);
        Assert.Equal(expected, after);
        var r = m.Regs;
        Assert.Equal(0UL, r.Rcx);
        Assert.Equal(Window + (ulong)di, r.Rdi);
        Assert.Equal(op == "movs" ? Window + (ulong)si : Window + srcOff, r.Rsi);
    }

    [Fact]
    public void Rep_stos_over_three_pages_marks_exactly_those_pages_dirty()
    {
        using var m = new EmuTestMachine(logDirty: true);
        m.LoadCode(a =>
        {
            a.mov(rdi, Window + 0x1800);
            a.mov(ecx, 0x2000);
            a.xor(eax, eax);
            a.rep.stosb();
            a.hlt();
        });
        m.Vm.GetDirtyLog(0);
        Assert.Equal(VcpuExitKind.Hlt, m.Run().Kind);
        ulong first = Window >> 12;
        Assert.Equal(new[] { first + 1, first + 2, first + 3 }, m.Vm.GetDirtyLog(0).DirtyPages().ToArray());
    }

    [Fact]
    public void Rep_movs_over_decoded_code_runs_the_new_code()
    {
        using var m = new EmuTestMachine();
        const ulong Function = EmuTestMachine.Code + 0x2000;
        m.Load(Function, a =>
        {
            a.mov(eax, 1);
            a.ret();
        });
        var replacement = EmuAsm.Assemble(64, Function, a =>
        {
            a.mov(eax, 2);
            a.ret();
        });
        m.Vm.Memory.Write(Window, replacement);
        m.LoadCode(a =>
        {
            a.mov(rbx, Function);
            a.call(rbx);
            a.mov(r8, rax);
            a.mov(rsi, Window);
            a.mov(rdi, Function);
            a.mov(ecx, replacement.Length);
            a.rep.movsb();
            a.call(rbx);
            a.hlt();
        });
        Assert.Equal(VcpuExitKind.Hlt, m.Run().Kind);
        Assert.Equal((1UL, 2UL), (m.Regs.R8, m.Regs.Rax));
    }

    [Fact]
    public void Rep_stos_that_runs_into_mmio_exits_there_with_the_registers_of_the_elements_done()
    {
        using var m = new EmuTestMachine();
        const ulong Start = EmuTestMachine.MemSize - 100;
        m.LoadCode(a =>
        {
            a.mov(rdi, Start);
            a.mov(ecx, 300);
            a.mov(eax, 0xAB);
            a.rep.stosb();
            a.hlt();
        });
        var e = m.Cpu.Run();
        Assert.Equal((VcpuExitKind.MmioWrite, EmuTestMachine.MemSize, 1, 0xABUL), (e.Kind, e.Address, e.Size, e.Data));
        Assert.Equal((199UL, EmuTestMachine.MemSize + 1), (m.Regs.Rcx, m.Regs.Rdi));
        var filled = new byte[100];
        m.Vm.Memory.Read(Start, filled);
        Assert.All(filled, b => Assert.Equal(0xAB, b));
        int writes = 1;
        while ((e = m.Cpu.Run()).Kind == VcpuExitKind.MmioWrite) writes++;
        Assert.Equal(VcpuExitKind.Hlt, e.Kind);
        Assert.Equal(200, writes);
    }
}
