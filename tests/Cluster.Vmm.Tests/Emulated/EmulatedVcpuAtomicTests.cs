using Cluster.Vmm.Emulated;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Tests.TestUtils;
using Iced.Intel;
using Xunit;
using static Cluster.Vmm.Tests.TestUtils.EmuDifferential;
using static Iced.Intel.AssemblerRegisters;

namespace Cluster.Vmm.Tests.Emulated;

/// <summary>LOCK-prefixed read-modify-write instructions: host-atomic against plain stores, and results and flags as the host CPU's.</summary>
public sealed class EmulatedVcpuAtomicTests
{
    [Fact]
    public void Locked_increments_lose_no_plain_store_to_neighbouring_bytes_of_the_same_word()
    {
        const int Iterations = 300_000;
        const ulong X = EmuTestMachine.Data;
        using var m = new EmuTestMachine(vcpus: 4);
        // vCPUs 0 and 1: locked adds on the dword at X and the byte at X+4 (the CAS of a sub-word operand).
        ulong incrementer = EmuTestMachine.Code;
        m.Load(incrementer, a =>
        {
            var loop = a.CreateLabel();
            a.mov(rbx, X);
            a.mov(ecx, Iterations);
            a.Label(ref loop);
            a.@lock.add(__dword_ptr[rbx], 1);
            a.@lock.inc(__byte_ptr[rbx + 4]);
            a.dec(ecx);
            a.jnz(loop);
            a.hlt();
        });
        // vCPUs 2 and 3: plain byte stores to X+3 and X+5 (inside the words the others update), each read back at once.
        ulong storer = EmuTestMachine.Code + 0x1000;
        m.Load(storer, a =>
        {
            var loop = a.CreateLabel();
            var same = a.CreateLabel();
            a.mov(ecx, Iterations);
            a.xor(r8d, r8d);
            a.Label(ref loop);
            a.mov(__byte_ptr[rbx], cl);
            a.mov(al, __byte_ptr[rbx]);
            a.cmp(al, cl);
            a.je(same);
            a.inc(r8);
            a.Label(ref same);
            a.dec(ecx);
            a.jnz(loop);
            a.hlt();
        });
        for (int i = 0; i < 4; i++)
        {
            var rip = i < 2 ? incrementer : storer;
            m.Vcpus[i].SetRegisters(new Registers { Rip = rip, Rsp = EmuTestMachine.StackTop - (ulong)i * 0x1000, Rbx = i == 2 ? X + 3 : X + 5, Rflags = 2 });
        }
        var exits = new VcpuExit[4];
        using var start = new Barrier(4);
        var threads = m.Vcpus.Select((v, i) => new Thread(() =>
        {
            start.SignalAndWait();
            exits[i] = v.Run();
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.All(exits, e => Assert.Equal(VcpuExitKind.Hlt, e.Kind));
        Assert.Equal(0UL, m.Vcpus[2].GetRegisters().R8);
        Assert.Equal(0UL, m.Vcpus[3].GetRegisters().R8);
        ulong word = m.Vm.Memory.ReadU64(X);
        Assert.Equal(2UL * Iterations, word & 0xFF_FFFF);
        Assert.Equal(1UL, (word >> 24) & 0xFF);
        Assert.Equal((2UL * Iterations) & 0xFF, (word >> 32) & 0xFF);
        Assert.Equal(1UL, (word >> 40) & 0xFF);
    }

    [Fact]
    public void Lock_cmpxchg_spinlocks_of_four_vcpus_protect_a_plain_counter()
    {
        const int Iterations = 5_000;
        const ulong Lock = EmuTestMachine.Data, Counter = EmuTestMachine.Data + 64;
        using var m = new EmuTestMachine(vcpus: 4);
        m.LoadCode(a =>
        {
            var spin = a.CreateLabel();
            a.mov(rbx, Lock);
            a.mov(ecx, Iterations);
            a.mov(edx, 1);
            a.Label(ref spin);
            a.xor(eax, eax);
            a.@lock.cmpxchg(__dword_ptr[rbx], edx);
            a.jne(spin);
            a.mov(rsi, __qword_ptr[rbx + 64]);
            a.inc(rsi);
            a.mov(__qword_ptr[rbx + 64], rsi);
            a.xchg(__dword_ptr[rbx], eax);
            a.dec(ecx);
            a.jnz(spin);
            a.hlt();
        });
        for (int i = 0; i < 4; i++)
            m.Vcpus[i].SetRegisters(new Registers { Rip = EmuTestMachine.Code, Rsp = EmuTestMachine.StackTop - (ulong)i * 0x1000, Rflags = 2 });
        var exits = new VcpuExit[4];
        var threads = m.Vcpus.Select((v, i) => new Thread(() => exits[i] = v.Run(), 1 << 20)).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.All(exits, e => Assert.Equal(VcpuExitKind.Hlt, e.Kind));
        Assert.Equal(4UL * Iterations, m.Vm.Memory.ReadU64(Counter));
        Assert.Equal(0UL, m.Vm.Memory.ReadU64(Lock));
    }

    /// <summary>
    /// Each locked form on a 16-byte stack buffer (filled from RDX and RSI, read back into them) at
    /// offsets that keep the operand inside one aligned word (the CAS path) or split it (the gated path).
    /// </summary>
    [Fact]
    public void Locked_operations_match_the_host_cpu_at_aligned_unaligned_and_split_offsets()
    {
        var forms = new List<(string Name, byte[] Code, int Size, int Offset)>();
        foreach (var s in new[] { 1, 2, 4, 8 })
            foreach (var off in new[] { 0, 2, 5, 7 })
            {
                string b = (s * 8).ToString();
                Register src = EmuAsm.Reg(Register.RBX, s);
                foreach (var op in new[] { "Add", "Or", "Adc", "Sbb", "And", "Sub", "Xor", "Xadd", "Cmpxchg", "Xchg" })
                    forms.Add(($"lock {op}{b}@{off}", Locked(Instruction.Create(Enum.Parse<Code>($"{op}_rm{b}_r{b}"), Slot(off), src)), s, off));
                foreach (var op in new[] { "Inc", "Dec", "Not", "Neg" })
                    forms.Add(($"lock {op}{b}@{off}", Locked(Instruction.Create(Enum.Parse<Code>($"{op}_rm{b}"), Slot(off))), s, off));
                if (s == 1) continue;
                foreach (var op in new[] { "Bts", "Btr", "Btc" })
                {
                    forms.Add(($"lock {op}{b}r@{off}", Locked(Instruction.Create(Enum.Parse<Code>($"{op}_rm{b}_r{b}"), Slot(off), src)), s, off));
                    forms.Add(($"lock {op}{b}i@{off}", Locked(Instruction.Create(Enum.Parse<Code>($"{op}_rm{b}_imm8"), Slot(off), 2 * s + 3)), s, off));
                }
                if (s == 8) forms.Add(($"lock cmpxchg8b@{off}", Locked8b(off), 8, off));
            }

        using var d = new EmuDifferential(11);
        foreach (var (name, code, size, off) in forms)
            for (int i = 0; i < 24; i++)
            {
                var r = d.RandomRegisters();
                bool wide = name.Contains("8b");
                int low = wide ? 8 : 2;
                r[low] = i < 4 ? Edges[i * 5] : d.Random64() | (d.Random64() << 32);
                r[6] = d.Random64();
                r[3] = name.Contains("Bt") ? r[3] & 63 : i < 8 ? Edges[(i * 7) % Edges.Length] : r[3];
                // Half the compare-exchanges see the accumulator (EDX:EAX for CMPXCHG8B) equal to the memory operand.
                ulong operand = (ulong)((((UInt128)r[6] << 64) | r[low]) >> (off * 8));
                if (i % 2 == 0 && wide)
                {
                    r[0] = operand & 0xFFFF_FFFF;
                    r[2] = operand >> 32;
                }
                else if (i % 2 == 0) r[0] = operand & (size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1);
                // BT* define CF (and leave ZF); AND/OR/XOR leave AF undefined.
                ulong defined = name.Contains("Bt", StringComparison.Ordinal) ? EmulatedVcpu.CF | EmulatedVcpu.ZF
                    : name.Contains("And", StringComparison.Ordinal) || name.Contains("Or", StringComparison.Ordinal) || name.Contains("Xor", StringComparison.Ordinal) ? ArithFlags & ~EmulatedVcpu.AF
                    : ArithFlags;
                d.Check(name, code, r, d.RandomFlags(), defined);
            }
        Assert.True(d.Cases > 5000);
    }

    private static MemoryOperand Slot(int off) => new(Register.RSP, -64 + off, 1);

    /// <summary>Stores RDX, RSI at [rsp-64], runs the locked instruction, and loads the buffer back into RDX, RSI.</summary>
    private static byte[] Locked(Instruction ins)
    {
        ins.HasLockPrefix = true;
        return Code(
            Instruction.Create(Iced.Intel.Code.Mov_rm64_r64, new MemoryOperand(Register.RSP, -64, 1), Register.RDX),
            Instruction.Create(Iced.Intel.Code.Mov_rm64_r64, new MemoryOperand(Register.RSP, -56, 1), Register.RSI),
            ins,
            Instruction.Create(Iced.Intel.Code.Mov_r64_rm64, Register.RDX, new MemoryOperand(Register.RSP, -64, 1)),
            Instruction.Create(Iced.Intel.Code.Mov_r64_rm64, Register.RSI, new MemoryOperand(Register.RSP, -56, 1)));
    }

    /// <summary>CMPXCHG8B compares with EDX:EAX, so the buffer is filled from R8 and RSI instead of RDX.</summary>
    private static byte[] Locked8b(int off)
    {
        var ins = Instruction.Create(Iced.Intel.Code.Cmpxchg8b_m64, Slot(off));
        ins.HasLockPrefix = true;
        return Code(
            Instruction.Create(Iced.Intel.Code.Mov_rm64_r64, new MemoryOperand(Register.RSP, -64, 1), Register.R8),
            Instruction.Create(Iced.Intel.Code.Mov_rm64_r64, new MemoryOperand(Register.RSP, -56, 1), Register.RSI),
            ins,
            Instruction.Create(Iced.Intel.Code.Mov_r64_rm64, Register.R8, new MemoryOperand(Register.RSP, -64, 1)),
            Instruction.Create(Iced.Intel.Code.Mov_r64_rm64, Register.RSI, new MemoryOperand(Register.RSP, -56, 1)));
    }
}
