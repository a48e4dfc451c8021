using System.Diagnostics;
using System.Text;
using Iced.Intel;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Cluster.Vmm.Tests.Emulated.Differential;

/// <summary>
/// Every instruction form the emulator claims (derived from its decoder, see <see cref="InstructionForms"/>),
/// in every addressing form, followed by every kind of flag consumer, compared with the host CPU on
/// the interpreter and on compiled blocks. The ordinary suite runs a seeded sample; with
/// CLUSTER_FULL_TESTS=1 every snippet runs, with every edge value in each operand and random ones.
/// CLUSTER_DIFF_SEED=N repeats a run's sample and operands.
/// </summary>
public sealed class GeneratedDifferentialTests(ITestOutputHelper output)
{
    /// <summary>Snippets per claimed code and operand sets per snippet in the ordinary suite (both paths run them).</summary>
    private const int SamplePerCode = 10, SampleValues = 24;
    /// <summary>Random operand sets per snippet in the full sweep, beside every edge against a random edge on each side.</summary>
    private const int FullRandomValues = 32;

    private static readonly ulong[] Edges =
    [
        0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 0x0F0F_F0F0_1234_8765, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64,
    ];

    [Fact]
    public void Generated_instruction_forms_match_the_host_cpu_when_interpreted() => Sweep(compiled: false);

    [Fact]
    public void Generated_instruction_forms_match_the_host_cpu_when_compiled_to_il() => Sweep(compiled: true);

    [Fact]
    public void Every_claimed_form_that_the_host_can_run_is_generated_in_each_of_its_addressing_forms()
    {
        var claims = InstructionForms.Claimed();
        var snippets = GeneratedCases.All(0x200080, 0x201800);
        var generated = snippets.Select(s => s.Producer.Code).ToHashSet();
        var missing = claims.Where(c => c.Skipped is null && !generated.Contains(c.Code) && GeneratedCases.HostRuns(c.Code)).Select(c => c.Code.ToString()).ToList();
        Assert.True(missing.Count == 0, "claimed but not generated: " + string.Join(", ", missing));
        // Every r/m form has its register and memory forms, and the memory forms all addressing forms.
        foreach (var code in generated)
        {
            var forms = snippets.Where(s => s.Producer.Code == code).Select(s => s.Producer.Mem).ToHashSet();
            bool rm = Enumerable.Range(0, code.ToOpCode().OpCount).Any(i => code.ToOpCode().GetOpKind(i) is OpCodeOperandKind.r8_or_mem
                or OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r64_or_mem);
            if (rm)
                Assert.True(forms.SetEquals([MemForm.None, MemForm.Rip, MemForm.Sib, MemForm.Addr32, MemForm.Fs, MemForm.Gs]), $"{code}: {string.Join(",", forms)}");
        }
        output.WriteLine($"claimed codes: {claims.Count}; host-run and generated: {generated.Count}; snippets: {snippets.Count}");
        foreach (var g in claims.Where(c => c.Skipped is not null).GroupBy(c => c.Skipped))
            output.WriteLine($"not run on the host ({g.Key}): {string.Join(" ", g.Select(c => c.Code))}");
    }

    private void Sweep(bool compiled)
    {
        bool full = Environment.GetEnvironmentVariable("CLUSTER_FULL_TESTS") == "1";
        int seed = int.TryParse(Environment.GetEnvironmentVariable("CLUSTER_DIFF_SEED"), out var s) ? s : Random.Shared.Next();
        var clock = Stopwatch.StartNew();
        using var h = new DifferentialHarness(compiled);
        var rng = new Random(seed);
        var all = GeneratedCases.All(h.SnippetAddress, h.Operand);
        // The sample keeps every code: a few of its snippets (addressing form, immediate, consumer) drawn by the seed.
        var snippets = full ? [.. all] : all.GroupBy(x => x.Producer.Code).SelectMany(g => g.OrderBy(_ => rng.Next()).Take(SamplePerCode)).ToList();
        var failures = new Dictionary<string, string>();
        long cases = 0, skipped = 0;
        var values = new CaseValues(rng, h.Operand, FixedAddressNativeRunner.FsBase, FixedAddressNativeRunner.GsBase);
        foreach (var sn in snippets)
        {
            foreach (var (a, b, c) in Operands(rng, full))
            {
                var kase = values.Make(sn, a, b, c);
                if (kase is null)
                {
                    skipped++;
                    continue;
                }
                cases++;
                var diffs = h.Run(sn, kase.Regs, kase.Flags, kase.Window, kase.Defined);
                if (diffs.Count == 0) continue;
                failures.TryAdd(sn.Name, $"{sn.Name}: {kase.Describe()}: {string.Join("; ", diffs)}");
                break;
            }
            if (failures.Count >= 60) break;
        }
        string path = compiled ? "compiled" : "interpreted";
        output.WriteLine($"{path}: seed {seed}, {(full ? "full sweep" : "sample")}: {snippets.Count} of {all.Count} snippets, {cases} cases ({skipped} skipped: #DE or undefined), {h.CompiledBlocks} blocks compiled, {clock.Elapsed.TotalSeconds:F1} s");
        if (failures.Count > 0)
        {
            var msg = new StringBuilder($"{failures.Count} snippets differ from the host ({path}, CLUSTER_DIFF_SEED={seed}{(full ? " CLUSTER_FULL_TESTS=1" : "")} repeats this run):\n");
            foreach (var f in failures.Values) msg.AppendLine(f);
            throw new XunitException(msg.ToString());
        }
        if (compiled) Assert.True(h.CompiledBlocks >= snippets.Count / 2, $"only {h.CompiledBlocks} blocks compiled for {snippets.Count} snippets");
    }

    private static IEnumerable<(ulong, ulong, ulong)> Operands(Random rng, bool full)
    {
        if (full)
        {
            foreach (var e in Edges)
            {
                yield return (e, Edges[rng.Next(Edges.Length)], Edges[rng.Next(Edges.Length)]);
                yield return (Edges[rng.Next(Edges.Length)], e, Edges[rng.Next(Edges.Length)]);
                yield return (CaseValues.Random64(rng), CaseValues.Random64(rng), e);
            }
            for (int i = 0; i < FullRandomValues; i++) yield return (CaseValues.Random64(rng), CaseValues.Random64(rng), CaseValues.Random64(rng));
            yield break;
        }
        for (int i = 0; i < SampleValues; i++)
        {
            ulong Pick() => rng.Next(2) == 0 ? Edges[rng.Next(Edges.Length)] : CaseValues.Random64(rng);
            yield return (Pick(), Pick(), Pick());
        }
    }
}
