using Xunit;
using Cluster.Vmm.Tests.TestUtils;
using Iced.Intel;
using static Cluster.Vmm.Tests.TestUtils.EmuDifferential;
using Cluster.Vmm.Tests.Emulated.Differential;
using static Cluster.Vmm.Emulated.EmulatedVcpu;

namespace Cluster.Vmm.Tests.Emulated;

/// <summary>Results and flags of integer instructions compared with the host CPU over edge and random operands.</summary>
public sealed class EmulatedVcpuDifferentialTests
{
    private static readonly int[] Sizes = [1, 2, 4, 8];
    private static readonly Register A = Register.RAX, B = Register.RBX;

    private static string Bits(int s) => (s * 8).ToString();

    /// <summary>
    /// Runs every snippet over edge and random operand pairs; <paramref name="rules"/> says, from a
    /// snippet's name and registers, what the SDM defines after it (flags compared; a case whose
    /// destination is undefined is left out), by default everything.
    /// </summary>
    private static void Run(int seed, IEnumerable<(string Name, byte[] Code)> snippets, Func<EmuDifferential, ulong, ulong, ulong[]>? regs = null, int randoms = 300,
        Func<string, ulong[], Defined>? rules = null)
    {
        using var d = new EmuDifferential(seed);
        foreach (var (name, code) in snippets)
            foreach (var (a, b) in d.Pairs(randoms))
            {
                var r = regs?.Invoke(d, a, b) ?? d.RandomRegisters();
                if (regs is null)
                {
                    r[0] = a;
                    r[3] = b;
                    r[1] = b;
                }
                var defined = rules?.Invoke(name, r) ?? Defined.All;
                if (defined.Skip || !defined.Destination) continue;
                d.Check(name, code, r, d.RandomFlags(), defined.Flags);
            }
        Assert.True(d.Cases > 1000);
    }

    [Fact]
    public void Add_sub_adc_sbb_cmp_match_the_host_cpu()
    {
        var forms = new List<(string, byte[])>();
        foreach (var op in new[] { "Add", "Sub", "Adc", "Sbb", "Cmp" })
            foreach (var s in Sizes)
            {
                forms.Add(($"{op}{s}", Code(I($"{op}_rm{Bits(s)}_r{Bits(s)}", EmuAsm.Reg(A, s), EmuAsm.Reg(B, s)))));
                forms.Add(($"{op}{s}imm", Code(I($"{op}_rm{Bits(s)}_imm{Bits(Math.Min(s, 4))}", EmuAsm.Reg(A, s), unchecked((int)0x8000_0071 >> (32 - 8 * Math.Min(s, 4)))))));
            }
        Run(1, forms, randoms: 120);
    }

    [Fact]
    public void Logic_and_unary_operations_match_the_host_cpu()
    {
        var forms = new List<(string, byte[])>();
        foreach (var s in Sizes)
        {
            foreach (var op in new[] { "And", "Or", "Xor", "Test" })
                forms.Add(($"{op}{s}", Code(I($"{op}_rm{Bits(s)}_r{Bits(s)}", EmuAsm.Reg(A, s), EmuAsm.Reg(B, s)))));
            foreach (var op in new[] { "Inc", "Dec", "Neg", "Not" })
                forms.Add(($"{op}{s}", Code(I($"{op}_rm{Bits(s)}", EmuAsm.Reg(A, s)))));
        }
        Run(2, forms, randoms: 100, rules: (name, _) => AfUndefinedAfterLogic(name));
    }

    [Fact]
    public void Shifts_and_rotates_match_the_host_cpu()
    {
        var forms = new List<(string, byte[])>();
        foreach (var op in new[] { "Shl", "Shr", "Sar", "Rol", "Ror", "Rcl", "Rcr" })
            foreach (var s in Sizes)
            {
                forms.Add(($"{op}{s}cl", Code(I($"{op}_rm{Bits(s)}_CL", EmuAsm.Reg(A, s), Register.CL))));
                forms.Add(($"{op}{s}by1", Code(I($"{op}_rm{Bits(s)}_1", EmuAsm.Reg(A, s), 1))));
                forms.Add(($"{op}{s}by7", Code(I($"{op}_rm{Bits(s)}_imm8", EmuAsm.Reg(A, s), 7))));
                forms.Add(($"{op}{s}by37", Code(I($"{op}_rm{Bits(s)}_imm8", EmuAsm.Reg(A, s), 37))));
            }
        foreach (var op in new[] { "Shld", "Shrd" })
            foreach (var s in new[] { 2, 4, 8 })
                forms.Add(($"{op}{s}", Code(I($"{op}_rm{Bits(s)}_r{Bits(s)}_CL", EmuAsm.Reg(A, s), EmuAsm.Reg(Register.RDX, s), Register.CL))));
        Run(3, forms, (d, a, b) =>
        {
            var r = d.RandomRegisters();
            r[0] = a;
            r[1] = b & 0xFF;
            return r;
        }, randoms: 60, rules: ShiftRules);
    }

    /// <summary>AND, OR, XOR and TEST leave AF undefined.</summary>
    private static Defined AfUndefinedAfterLogic(string name) =>
        name.StartsWith("And", StringComparison.OrdinalIgnoreCase) || name.StartsWith("Or", StringComparison.Ordinal) || name.StartsWith("Xor", StringComparison.Ordinal)
            || name.StartsWith("Test", StringComparison.OrdinalIgnoreCase)
            ? new Defined(Defined.All.Flags & ~AF, true, false) : Defined.All;

    /// <summary>Shift and rotate names are {Op}{size}{cl|by1|by7|by37} or Shld/Shrd{size} (count in CL).</summary>
    private static Defined ShiftRules(string name, ulong[] r)
    {
        int at = name.IndexOfAny(['1', '2', '4', '8']);
        var mnemonic = Enum.Parse<Mnemonic>(name[..at]);
        int size = name[at] - '0';
        string kind = name[(at + 1)..];
        ulong count = kind.StartsWith("by", StringComparison.Ordinal) ? ulong.Parse(kind[2..]) : r[1] & 0xFF;
        return FlagRules.For(mnemonic, size, count, 0);
    }

    [Fact]
    public void Multiplies_match_the_host_cpu()
    {
        var forms = new List<(string, byte[])>();
        foreach (var s in Sizes)
        {
            forms.Add(($"Mul{s}", Code(I($"Mul_rm{Bits(s)}", EmuAsm.Reg(B, s)))));
            forms.Add(($"Imul{s}", Code(I($"Imul_rm{Bits(s)}", EmuAsm.Reg(B, s)))));
            if (s > 1)
            {
                forms.Add(($"Imul2_{s}", Code(I($"Imul_r{Bits(s)}_rm{Bits(s)}", EmuAsm.Reg(A, s), EmuAsm.Reg(B, s)))));
                forms.Add(($"Imul3_{s}", Code(I($"Imul_r{Bits(s)}_rm{Bits(s)}_imm{Bits(Math.Min(s, 4))}", EmuAsm.Reg(A, s), EmuAsm.Reg(B, s), s == 2 ? -1234 : -123456))));
            }
        }
        // MUL/IMUL define CF and OF only.
        Run(4, forms, randoms: 150, rules: (_, _) => new Defined(CF | OF, true, false));
    }

    [Fact]
    public void Divides_match_the_host_cpu_where_the_host_does_not_fault()
    {
        var forms = new List<(string, byte[], int, bool)>();
        foreach (var s in Sizes)
        {
            forms.Add(($"Div{s}", Code(I($"Div_rm{Bits(s)}", EmuAsm.Reg(B, s))), s, false));
            forms.Add(($"Idiv{s}", Code(I($"Idiv_rm{Bits(s)}", EmuAsm.Reg(B, s))), s, true));
        }
        using var d = new EmuDifferential(5);
        foreach (var (name, code, s, signed) in forms)
            foreach (var (a, b) in d.Pairs(200))
            {
                ulong m = s == 8 ? ulong.MaxValue : (1UL << (s * 8)) - 1;
                ulong hi = d.Random64() & (d.Random64() % 3 == 0 ? m : 0);
                if (!Divides(a, hi, b, s, signed)) continue;
                var r = d.RandomRegisters();
                r[0] = a;
                r[2] = hi;
                r[3] = b;
                // Flags after DIV/IDIV are undefined and differ between CPU generations: compare results only.
                d.Check(name, code, r, d.RandomFlags(), flagMask: 0);
            }
        Assert.True(d.Cases > 1000);
    }

    private static bool Divides(ulong lo, ulong hi, ulong d, int s, bool signed)
    {
        ulong m = s == 8 ? ulong.MaxValue : (1UL << (s * 8)) - 1;
        d &= m;
        if (d == 0) return false;
        if (s == 1)
        {
            ulong n = lo & 0xFFFF;
            if (!signed) return n / d <= 0xFF;
            long q = (short)n / (long)(sbyte)d;
            return q is >= -128 and <= 127;
        }
        var bits = s * 8;
        if (!signed)
        {
            var n = ((UInt128)(hi & m) << bits) | (lo & m);
            return n / d <= m;
        }
        Int128 sn = (Int128)(((UInt128)(hi & m) << bits) | (lo & m));
        sn = (sn << (128 - 2 * bits)) >> (128 - 2 * bits);
        Int128 sd = (long)(d << (64 - bits)) >> (64 - bits);
        if (sd == -1 && sn == -(Int128.One << (2 * bits - 1))) return false;
        Int128 sq = sn / sd;
        Int128 lim = Int128.One << (bits - 1);
        return sq < lim && sq >= -lim;
    }

    [Fact]
    public void Bit_tests_and_scans_match_the_host_cpu()
    {
        var forms = new List<(string, byte[])>();
        foreach (var s in new[] { 2, 4, 8 })
        {
            foreach (var op in new[] { "Bt", "Bts", "Btr", "Btc" })
            {
                forms.Add(($"{op}{s}", Code(I($"{op}_rm{Bits(s)}_r{Bits(s)}", EmuAsm.Reg(A, s), EmuAsm.Reg(B, s)))));
                forms.Add(($"{op}{s}imm", Code(I($"{op}_rm{Bits(s)}_imm8", EmuAsm.Reg(A, s), 13))));
            }
            foreach (var op in new[] { "Bsf", "Bsr", "Tzcnt", "Lzcnt", "Popcnt" })
                forms.Add(($"{op}{s}", Code(I($"{op}_r{Bits(s)}_rm{Bits(s)}", EmuAsm.Reg(A, s), EmuAsm.Reg(B, s)))));
        }
        Run(6, forms, randoms: 100, rules: (name, r) =>
        {
            var mnemonic = Enum.Parse<Mnemonic>(name.TrimEnd('i', 'm', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'));
            return FlagRules.For(mnemonic, name.Contains('2') ? 2 : name.Contains('4') ? 4 : 8, 0, r[3]);
        });
    }

    [Fact]
    public void Conditional_moves_and_sets_match_the_host_cpu_for_every_condition()
    {
        var conds = new[] { "o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g" };
        var forms = new List<(string, byte[])>();
        foreach (var cc in conds)
        {
            forms.Add(($"cmp+cmov{cc}", Code(I("Cmp_rm64_r64", A, B), I($"Cmov{cc}_r64_rm64", Register.RDX, Register.RSI), I($"Set{cc}_rm8", Register.CL))));
            forms.Add(($"sub32+cmov{cc}", Code(I("Sub_rm32_r32", Register.EAX, Register.EBX), I($"Cmov{cc}_r32_rm32", Register.EDX, Register.ESI), I($"Set{cc}_rm8", Register.CL))));
            forms.Add(($"add8+set{cc}", Code(I("Add_rm8_r8", Register.AL, Register.BL), I($"Set{cc}_rm8", Register.CL))));
            forms.Add(($"and16+set{cc}", Code(I("And_rm16_r16", Register.AX, Register.BX), I($"Set{cc}_rm8", Register.CL))));
            forms.Add(($"inc+set{cc}", Code(I("Inc_rm32", Register.EAX), I($"Set{cc}_rm8", Register.CL))));
            forms.Add(($"cmp+j{cc}", BranchOver(I("Cmp_rm64_r64", A, B), cc)));
            forms.Add(($"test32+j{cc}", BranchOver(I("Test_rm32_r32", Register.EAX, Register.EBX), cc)));
            forms.Add(($"dec+j{cc}", BranchOver(I("Dec_rm64", A), cc)));
            forms.Add(($"sub16+j{cc}", BranchOver(I("Sub_rm16_imm16", Register.AX, 0x1234), cc)));
        }
        Run(7, forms, randoms: 40, rules: (name, _) => AfUndefinedAfterLogic(name));
    }

    /// <summary>A flag-setting op, then j<paramref name="cc"/> over "mov ecx, 1" (a compare-and-branch pair).</summary>
    private static byte[] BranchOver(Instruction setter, string cc)
    {
        ulong at = EmuTestMachine.Code;
        var first = Code(setter);
        ulong jccAt = at + (ulong)first.Length;
        var skip = Code(I("Mov_r32_imm32", Register.ECX, 1));
        var jcc = Instruction.CreateBranch(Enum.Parse<Iced.Intel.Code>($"J{cc}_rel8_64"), jccAt + 2 + (ulong)skip.Length);
        return [.. first, .. EmuAsm.Encode(jccAt, jcc), .. skip];
    }

    [Fact]
    public void Moves_extensions_and_exchanges_match_the_host_cpu()
    {
        var forms = new List<(string, byte[])>
        {
            ("movzx8", Code(I("Movzx_r32_rm8", Register.EAX, Register.BL))),
            ("movzx16", Code(I("Movzx_r64_rm16", Register.RAX, Register.BX))),
            ("movsx8", Code(I("Movsx_r64_rm8", Register.RAX, Register.BL))),
            ("movsx16", Code(I("Movsx_r32_rm16", Register.EAX, Register.BX))),
            ("movsxd", Code(I("Movsxd_r64_rm32", Register.RAX, Register.EBX))),
            ("mov32", Code(I("Mov_rm32_r32", Register.EAX, Register.EBX))),
            ("movh8", Code(I("Mov_rm8_r8", Register.AH, Register.BL), I("Mov_rm8_r8", Register.CH, Register.AL))),
            ("bswap32", Code(I("Bswap_r32", Register.EAX))),
            ("bswap64", Code(I("Bswap_r64", Register.RAX))),
            ("cbw", Code(I("Cbw"))), ("cwde", Code(I("Cwde"))), ("cdqe", Code(I("Cdqe"))),
            ("cwd", Code(I("Cwd"))), ("cdq", Code(I("Cdq"))), ("cqo", Code(I("Cqo"))),
            ("lahf", Code(I("Add_rm64_r64", A, B), I("Lahf"))),
            ("sahf", Code(I("Sahf"))),
            ("xchg32", Code(I("Xchg_rm32_r32", Register.EAX, Register.EBX))),
            ("xadd64", Code(I("Xadd_rm64_r64", A, B))),
            ("xadd8", Code(I("Xadd_rm8_r8", Register.AL, Register.BL))),
            ("cmpxchg64", Code(I("Cmpxchg_rm64_r64", Register.RDX, B))),
            ("cmpxchg32", Code(I("Cmpxchg_rm32_r32", Register.EDX, Register.EBX))),
            ("cmpxchg32eq", Code(I("Mov_rm32_r32", Register.EDX, Register.EAX), I("Cmpxchg_rm32_r32", Register.EDX, Register.EBX))),
            ("lea", Code(Instruction.Create(Iced.Intel.Code.Lea_r64_m, Register.RAX, new MemoryOperand(Register.RBX, Register.RCX, 4, -8, 1)))),
            ("lea32", Code(Instruction.Create(Iced.Intel.Code.Lea_r32_m, Register.EAX, new MemoryOperand(Register.RBX, Register.RCX, 2, 100, 1)))),
            ("adc-chain", Code(I("Add_rm64_r64", A, B), I("Adc_rm64_r64", Register.RDX, Register.RCX), I("Sbb_rm32_r32", Register.ESI, Register.EAX))),
            ("stc-cmc", Code(I("Stc"), I("Cmc"), I("Adc_rm8_r8", Register.AL, Register.BL))),
        };
        Run(8, forms, randoms: 40);
    }
}
