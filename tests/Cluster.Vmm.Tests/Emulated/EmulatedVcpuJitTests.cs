using Cluster.Vmm.Emulated;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Tests.TestUtils;
using Iced.Intel;
using Xunit;
using static Cluster.Vmm.Tests.TestUtils.EmuDifferential;
using static Iced.Intel.AssemblerRegisters;

namespace Cluster.Vmm.Tests.Emulated;

/// <summary>Blocks compiled to IL: the same results, flags, exits and counts as the interpreter.</summary>
public sealed class EmulatedVcpuJitTests
{
    private static readonly int[] Sizes = [1, 2, 4, 8];

    [Fact]
    public void Compiled_register_and_memory_forms_match_the_host_cpu()
    {
        var forms = new List<(string, byte[])>();
        foreach (var s in Sizes)
        {
            string b = (s * 8).ToString();
            Register a = EmuAsm.Reg(Register.RAX, s), x = EmuAsm.Reg(Register.RBX, s);
            foreach (var op in new[] { "Add", "Sub", "And", "Or", "Xor", "Cmp", "Test", "Mov" })
            {
                forms.Add(($"{op}{s}", Code(I($"{op}_rm{b}_r{b}", a, x))));
                if (op != "Test" && op != "Mov")
                    forms.Add(($"{op}{s}imm", Code(I($"{op}_rm{b}_imm{Math.Min(s, 4) * 8}", a, unchecked((int)0x8000_0071 >> (32 - 8 * Math.Min(s, 4)))))));
            }
            foreach (var op in new[] { "Inc", "Dec" })
                forms.Add(($"{op}{s}", Code(I($"{op}_rm{b}", a))));
            foreach (var op in new[] { "Shl", "Shr", "Sar" })
                forms.Add(($"{op}{s}by5", Code(I($"{op}_rm{b}_imm8", a, 5))));
            // Memory forms on the stack's red zone, written from RDX first and read back into RDX after.
            var slot = new MemoryOperand(Register.RSP, -64, 1);
            var store = Instruction.Create(Iced.Intel.Code.Mov_rm64_r64, slot, Register.RDX);
            var load = Instruction.Create(Iced.Intel.Code.Mov_r64_rm64, Register.RDX, slot);
            foreach (var op in new[] { "Add", "Sub", "And", "Or", "Xor", "Cmp" })
            {
                forms.Add(($"{op}{s}rm", Code(store, Instruction.Create(Enum.Parse<Code>($"{op}_r{b}_rm{b}"), a, slot), load)));
                forms.Add(($"{op}{s}mr", Code(store, Instruction.Create(Enum.Parse<Code>($"{op}_rm{b}_r{b}"), slot, x), load)));
            }
            if (s < 4) forms.Add(($"movzx{s}", Code(store, Instruction.Create(Enum.Parse<Code>($"Movzx_r64_rm{b}"), Register.RAX, slot))));
            if (s < 8) forms.Add(($"movsx{s}", Code(store, Instruction.Create(Enum.Parse<Code>(s == 4 ? "Movsxd_r64_rm32" : $"Movsx_r64_rm{b}"), Register.RAX, slot))));
        }
        forms.Add(("lea", Code(Instruction.Create(Iced.Intel.Code.Lea_r64_m, Register.RAX, new MemoryOperand(Register.RBX, Register.RCX, 4, -8, 1)))));
        forms.Add(("push-pop", Code(I("Push_r64", Register.RBX), I("Pop_r64", Register.RDX))));

        using var d = new EmuDifferential(21, compiled: true);
        foreach (var (name, code) in forms)
            foreach (var (a, b) in d.Pairs(randoms: 20).Where((_, i) => i % 9 == 0))
            {
                var r = d.RandomRegisters();
                r[0] = a;
                r[3] = b;
                d.Check(name, code, r, d.RandomFlags(), DefinedFlags(name));
            }
        Assert.True(d.Cases > 2000);
        Assert.Equal(forms.Count, d.CompiledBlocks);
    }

    [Fact]
    public void Ops_handed_to_the_interpreter_inside_compiled_blocks_match_the_host_cpu()
    {
        var forms = new List<(string, byte[])>
        {
            ("adc-chain", Code(I("Add_rm64_r64", Register.RAX, Register.RBX), I("Adc_rm64_r64", Register.RDX, Register.RCX), I("Sbb_rm32_r32", Register.ESI, Register.EAX))),
            ("xadd", Code(I("Mov_rm64_r64", Register.RDX, Register.RSI), I("Xadd_rm64_r64", Register.RAX, Register.RBX))),
            ("cmpxchg", Code(I("Mov_rm32_r32", Register.EDX, Register.EAX), I("Cmpxchg_rm32_r32", Register.EDX, Register.EBX))),
            ("imul", Code(I("Imul_r64_rm64", Register.RAX, Register.RBX), I("Imul_r32_rm32_imm32", Register.EDX, Register.ECX, 12345))),
            ("mul", Code(I("Mov_rm64_r64", Register.RSI, Register.RDX), I("Mul_rm64", Register.RBX))),
            ("bswap-bt", Code(I("Bswap_r64", Register.RAX), I("Bt_rm64_r64", Register.RAX, Register.RBX), I("Setb_rm8", Register.CL))),
            ("shift-cl", Code(I("Mov_r32_rm32", Register.ECX, Register.EBX), I("Shr_rm64_CL", Register.RAX, Register.CL), I("Rol_rm32_CL", Register.EDX, Register.CL))),
            ("cqo-neg", Code(I("Cqo"), I("Neg_rm64", Register.RAX), I("Not_rm32", Register.EBX))),
        };
        foreach (var cc in new[] { "b", "e", "be", "s", "p", "l", "le", "o" })
            forms.Add(($"cmp+cmov{cc}", Code(I("Cmp_rm64_r64", Register.RAX, Register.RBX), I($"Cmov{cc}_r64_rm64", Register.RDX, Register.RSI), I($"Set{cc}_rm8", Register.CL))));
        using var d = new EmuDifferential(23, compiled: true);
        foreach (var (name, code) in forms)
            foreach (var (a, b) in d.Pairs(randoms: 40).Where((_, i) => i % 5 == 0))
            {
                var r = d.RandomRegisters();
                r[0] = a;
                r[3] = b;
                d.Check(name, code, r, d.RandomFlags(), DefinedFlags(name));
            }
        Assert.Equal(forms.Count, d.CompiledBlocks);
    }

    [Fact]
    public void Compiled_compare_and_branch_pairs_match_the_host_cpu_for_every_condition()
    {
        var conds = new[] { "o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g" };
        var setters = new (string Name, Instruction Setter)[]
        {
            ("cmp64", I("Cmp_rm64_r64", Register.RAX, Register.RBX)),
            ("cmp32imm", I("Cmp_rm32_imm32", Register.EAX, 0x7FFF_0001)),
            ("sub16imm", I("Sub_rm16_imm16", Register.AX, 0x1234)),
            ("test32", I("Test_rm32_r32", Register.EAX, Register.EBX)),
            ("and16", I("And_rm16_r16", Register.AX, Register.BX)),
            ("dec64", I("Dec_rm64", Register.RAX)),
            ("add8", I("Add_rm8_r8", Register.AL, Register.BL)),
        };
        var forms = new List<(string, byte[])>();
        foreach (var cc in conds)
            foreach (var (name, setter) in setters)
                forms.Add(($"{name}+j{cc}", MoveThenBranchOver(setter, cc)));
        using var d = new EmuDifferential(22, compiled: true);
        foreach (var (name, code) in forms)
            foreach (var (a, b) in d.Pairs(randoms: 20).Where((_, i) => i % 13 == 0))
            {
                var r = d.RandomRegisters();
                r[0] = a;
                r[3] = b;
                d.Check(name, code, r, d.RandomFlags(), DefinedFlags(name));
            }
        // Every pair's block, and the fall-through block after it wherever the branch was not taken.
        Assert.True(d.CompiledBlocks >= forms.Count, $"{d.CompiledBlocks} blocks compiled for {forms.Count} forms");
    }

    /// <summary>"mov rdx, rsi" (so that the block has a compiled prefix), the flag-setting op, then a jcc over "mov ecx, 1".</summary>
    private static byte[] MoveThenBranchOver(Instruction setter, string cc)
    {
        var first = Code(I("Mov_rm64_r64", Register.RDX, Register.RSI), setter);
        ulong jccAt = EmuTestMachine.Code + (ulong)first.Length;
        var skip = EmuAsm.Encode(jccAt + 2, I("Mov_r32_imm32", Register.ECX, 1));
        var jcc = Instruction.CreateBranch(Enum.Parse<Iced.Intel.Code>($"J{cc}_rel8_64"), jccAt + 2 + (ulong)skip.Length);
        return [.. first, .. EmuAsm.Encode(jccAt, jcc), .. skip];
    }

    [Fact]
    public void A_block_compiled_in_the_background_is_installed_while_the_guest_keeps_running()
    {
        using var m = new EmuTestMachine();
        m.Cpu.JitThreshold = 2;
        m.LoadCode(a =>
        {
            var loop = a.CreateLabel();
            a.mov(rdi, EmuTestMachine.Data);
            a.xor(eax, eax);
            a.Label(ref loop);
            a.add(rax, 1);
            a.mov(edx, __dword_ptr[rdi]);
            a.test(edx, edx);
            a.jz(loop);
            a.hlt();
        });
        VcpuExit exit = default;
        var runner = new Thread(() => exit = m.Cpu.Run());
        runner.Start();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (m.Cpu.CompiledBlocks == 0 && waited.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(1);
        long retired = m.Cpu.RetiredInstructions;
        m.Vm.Memory.WriteU32(EmuTestMachine.Data, 1);
        runner.Join();
        Assert.True(m.Cpu.CompiledBlocks > 0);
        Assert.Equal(VcpuExitKind.Hlt, exit.Kind);
        // Every iteration retires four instructions, compiled or not.
        Assert.Equal(m.Cpu.RetiredInstructions - 3, (long)m.Regs.Rax * 4);
        Assert.True(retired > 0);
    }

    [Fact]
    public void A_compiled_store_into_its_own_block_stops_it_and_the_new_code_runs()
    {
        using var m = new EmuTestMachine();
        m.Cpu.JitThreshold = 1;
        m.Cpu.CompileInBackground = false;
        m.LoadCode(a =>
        {
            var patch = a.CreateLabel();
            a.lea(rbx, __[patch]);
            a.mov(__byte_ptr[rbx + 1], 0x42);
            a.Label(ref patch);
            a.mov(al, 0x11);
            a.hlt();
        });
        Assert.Equal(VcpuExitKind.Hlt, m.Run().Kind);
        Assert.Equal(0x42UL, m.Regs.Rax & 0xFF);
        Assert.True(m.Cpu.CompiledBlocks > 0);
    }

    [Fact]
    public void An_mmio_read_inside_a_compiled_block_exits_with_the_earlier_ops_done_and_resumes()
    {
        using var m = new EmuTestMachine();
        m.Cpu.JitThreshold = 1;
        m.Cpu.CompileInBackground = false;
        m.LoadCode(a =>
        {
            a.mov(rsi, 0x2000_0000UL);
            a.mov(eax, 1);
            a.mov(ecx, __dword_ptr[rsi]);
            a.add(eax, ecx);
            a.hlt();
        });
        var e = m.Cpu.Run();
        Assert.Equal((VcpuExitKind.MmioRead, 0x2000_0000UL), (e.Kind, e.Address));
        Assert.Equal(1UL, m.Regs.Rax);
        long before = m.Cpu.RetiredInstructions;
        m.Cpu.CompleteRead(41);
        Assert.Equal(VcpuExitKind.Hlt, m.Cpu.Run().Kind);
        Assert.Equal(42UL, m.Regs.Rax);
        Assert.Equal(before + 3, m.Cpu.RetiredInstructions);
        Assert.True(m.Cpu.CompiledBlocks > 0);
    }

    public static TheoryData<string> Loops => ["alu-and-memory", "calls-and-branches"];

    [Theory]
    [MemberData(nameof(Loops))]
    public void A_hot_loop_retires_the_same_instructions_and_result_compiled_as_interpreted(string program)
    {
        (ulong, long, int) RunLoop(int threshold)
        {
            using var m = new EmuTestMachine();
            m.Cpu.JitThreshold = threshold;
            m.Cpu.CompileInBackground = false;
            if (program == "calls-and-branches")
                m.LoadCode(a =>
                {
                    var loop = a.CreateLabel();
                    var function = a.CreateLabel();
                    var odd = a.CreateLabel();
                    var join = a.CreateLabel();
                    var done = a.CreateLabel();
                    a.mov(ecx, 5_000);
                    a.xor(eax, eax);
                    a.Label(ref loop);
                    a.call(function);
                    a.test(cl, 1);
                    a.jnz(odd);
                    a.add(eax, 3);
                    a.jmp(join);
                    a.Label(ref odd);
                    a.adc(eax, ecx);
                    a.jc(join);
                    a.sub(eax, 1);
                    a.Label(ref join);
                    a.dec(ecx);
                    a.jnz(loop);
                    a.jmp(done);
                    a.Label(ref function);
                    a.mov(edx, ecx);
                    a.imul(edx, edx, 7);
                    a.xor(eax, edx);
                    a.cmp(eax, 0x1000);
                    a.ret();
                    a.Label(ref done);
                    a.hlt();
                });
            else m.LoadCode(a =>
            {
                var loop = a.CreateLabel();
                a.mov(ecx, 10_000);
                a.xor(eax, eax);
                a.mov(rdi, EmuTestMachine.Data);
                a.Label(ref loop);
                a.mov(edx, ecx);
                a.shl(edx, 3);
                a.xor(eax, edx);
                a.add(__dword_ptr[rdi], eax);
                a.add(eax, __dword_ptr[rdi]);
                a.dec(ecx);
                a.jnz(loop);
                a.hlt();
            });
            Assert.Equal(VcpuExitKind.Hlt, m.Run().Kind);
            return (m.Regs.Rax, m.Cpu.RetiredInstructions, m.Cpu.CompiledBlocks);
        }
        var interpreted = RunLoop(int.MaxValue);
        var compiled = RunLoop(2);
        Assert.Equal(0, interpreted.Item3);
        Assert.True(compiled.Item3 > 0);
        Assert.Equal((interpreted.Item1, interpreted.Item2), (compiled.Item1, compiled.Item2));
    }

    /// <summary>
    /// The flags the SDM defines after each snippet here, by its name: AF after AND/OR/XOR/TEST and
    /// after shifts, OF after shifts by more than 1 (and CL rotates), SF/ZF/AF/PF after multiplies, and
    /// OF/SF/AF/PF after BT are undefined and differ between CPU vendors and generations.
    /// </summary>
    private static ulong DefinedFlags(string name)
    {
        if (name.Contains("by5", StringComparison.Ordinal)) return ArithFlags & ~(EmulatedVcpu.AF | EmulatedVcpu.OF);
        if (name.StartsWith("And", StringComparison.OrdinalIgnoreCase) || name.StartsWith("Or", StringComparison.Ordinal)
            || name.StartsWith("Xor", StringComparison.Ordinal) || name.StartsWith("Test", StringComparison.OrdinalIgnoreCase)) return ArithFlags & ~EmulatedVcpu.AF;
        return name switch
        {
            "imul" or "mul" => EmulatedVcpu.CF | EmulatedVcpu.OF,
            "bswap-bt" => EmulatedVcpu.CF | EmulatedVcpu.ZF,
            // SHR then ROL by CL: SF/ZF/PF from the SHR (or unchanged), CF from whichever moved last; OF and AF undefined.
            "shift-cl" => EmulatedVcpu.CF | EmulatedVcpu.ZF | EmulatedVcpu.SF | EmulatedVcpu.PF,
            _ => ArithFlags,
        };
    }
}
