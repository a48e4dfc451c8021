using Xunit;

namespace Cluster.Vmm.Tests.Fuzz;

/// <summary>
/// The short tier of the fuzzing of every parser of untrusted bytes (<see cref="FuzzTargets"/>): the committed corpus
/// (fuzz/corpus/TARGET/: regression cases, each an input that once failed) is replayed, the seeds must parse, and a few
/// thousand mutants of the seeds per target (fixed seeds, so a failure replays) must be accepted or refused the
/// documented way. <c>bench/fuzz/run</c> runs the same targets for as long as it is given, with new seeds each run.
/// </summary>
public sealed class FuzzTests
{
    /// <summary>Mutants per target in the suite (each target costs well under a second or two at this count).</summary>
    private const int Mutants = 3000;

    public static TheoryData<string> Targets => new(FuzzTargets.All.Keys);

    /// <summary>Where the committed corpus lives: fuzz/corpus at the repository root.</summary>
    internal static string CorpusDirectory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (Directory.Exists(Path.Combine(dir.FullName, "fuzz", "corpus")))
                    return Path.Combine(dir.FullName, "fuzz", "corpus");
            throw new DirectoryNotFoundException("no fuzz/corpus above " + AppContext.BaseDirectory);
        }
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void The_committed_corpus_and_the_seeds_are_accepted_or_refused_cleanly(string target)
    {
        var fuzz = FuzzTargets.All[target];
        var dir = Path.Combine(CorpusDirectory, target);
        var cases = Directory.Exists(dir) ? Directory.GetFiles(dir).Order(StringComparer.Ordinal).ToList() : [];
        foreach (var file in cases)
            Run(fuzz, File.ReadAllBytes(file), $"corpus file {file}");
        foreach (var seed in fuzz.Seeds())
            fuzz.Run(seed);
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Mutants_of_valid_inputs_are_accepted_or_refused_cleanly(string target)
    {
        var fuzz = FuzzTargets.All[target];
        var seeds = fuzz.Seeds().ToList();
        if (seeds.Count == 0)
            return; // bzimage on a machine without /boot/vmlinuz-*: nothing to mutate from (the corpus test still runs).
        // A seed of the target's name (string.GetHashCode differs between runs).
        int seed = target.Aggregate(17, (h, c) => unchecked((h * 31) + c)) & 0x7fff_ffff;
        var mutator = new Mutator(seed);
        int largest = seeds.Max(s => s.Length);
        int maxLength = Math.Max(largest * 2, 4096);
        // Fewer mutants of a large seed (a 7 MiB kernel is copied for each): at least 100.
        int mutants = (int)Math.Clamp(Mutants * (256L << 10) / Math.Max(largest, 1), 100, Mutants);
        for (int i = 0; i < mutants; i++)
        {
            var input = mutator.Mutate(seeds[i % seeds.Count], seeds[(i + 1) % seeds.Count], maxLength);
            Run(fuzz, input, $"mutant {i} of seed {seed} ({input.Length} bytes)");
        }
    }

    private static void Run(FuzzTarget fuzz, byte[] input, string what)
    {
        try
        {
            fuzz.Run(input);
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"{what}: {e.GetType().Name}: {e.Message} (input kept in {Keep(fuzz, input)})\n{e.StackTrace}");
        }
    }

    /// <summary>Writes a failing input where it can be added to the corpus: fuzz/failures/TARGET/SHA256 (git-ignored).</summary>
    private static string Keep(FuzzTarget fuzz, byte[] input)
    {
        var name = FuzzTargets.All.First(t => ReferenceEquals(t.Value, fuzz)).Key;
        var dir = Path.Combine(Path.GetDirectoryName(CorpusDirectory)!, "failures", name);
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(input))[..16]);
        File.WriteAllBytes(path, input);
        return path;
    }
}
