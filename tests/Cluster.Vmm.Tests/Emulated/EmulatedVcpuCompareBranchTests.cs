using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Tests.TestUtils;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Cluster.Vmm.Tests.Emulated;

/// <summary>
/// A compare with a RIP-relative memory operand fused with the jcc after it: the operand must be read
/// where the compare's own displacement points, not as many bytes further as the jcc is long
/// (issue 11: `var: .long 1, 3000; mov $1,%esi; cmp var(%rip),%esi; jb bad` took the branch).
/// </summary>
public sealed class EmulatedVcpuCompareBranchTests
{
    public static TheoryData<bool, int, bool> Cases()
    {
        var data = new TheoryData<bool, int, bool>();
        foreach (var compiled in new[] { false, true })
            foreach (var size in new[] { 1, 2, 4, 8 })
                foreach (var memoryFirst in new[] { false, true })
                    data.Add(compiled, size, memoryFirst);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Compare_of_a_rip_relative_operand_and_jb_reads_the_operand_not_its_upper_neighbour(bool compiled, int size, bool memoryFirst)
    {
        using var m = new EmuTestMachine();
        if (compiled)
        {
            m.Cpu.JitThreshold = 1;
            m.Cpu.CompileInBackground = false;
        }
        m.LoadCode(a =>
        {
            var bad = a.CreateLabel();
            var var = a.CreateLabel();
            var done = a.CreateLabel();
            a.nop();
            a.mov(esi, 1);
            switch (size, memoryFirst)
            {
                case (1, false): a.cmp(sil, __byte_ptr[var]); break;
                case (2, false): a.cmp(si, __word_ptr[var]); break;
                case (4, false): a.cmp(esi, __dword_ptr[var]); break;
                case (8, false): a.cmp(rsi, __qword_ptr[var]); break;
                // cmp var, 1: the memory operand on the left, an immediate on the right; ja bad mirrors jb.
                case (1, true): a.cmp(__byte_ptr[var], 1); break;
                case (2, true): a.cmp(__word_ptr[var], 1); break;
                case (4, true): a.cmp(__dword_ptr[var], 1); break;
                default: a.cmp(__qword_ptr[var], 1); break;
            }
            if (memoryFirst) a.ja(bad); else a.jb(bad);
            a.mov(eax, 0);
            a.jmp(done);
            a.Label(ref bad);
            a.mov(eax, 1);
            a.Label(ref done);
            a.hlt();
            a.Label(ref var);
            // The operand (1 at its size) followed by 0xFF bytes, so that any read past it changes the compare.
            a.db([.. BitConverter.GetBytes(1UL).AsSpan(0, size), .. Enumerable.Repeat((byte)0xFF, 16)]);
        });
        for (int i = 0; i < 3; i++)
        {
            var r = m.Regs;
            r.Rip = EmuTestMachine.Code;
            r.Rax = 0xDEAD;
            m.Regs = r;
            Assert.Equal(VcpuExitKind.Hlt, m.Run().Kind);
            Assert.Equal(0UL, m.Regs.Rax);
        }
        if (compiled) Assert.True(m.Cpu.CompiledBlocks > 0);
    }
}
