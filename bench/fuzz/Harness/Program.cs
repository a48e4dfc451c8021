// The fuzz targets as a program:
//   Harness TARGET --afl                      one target under afl-fuzz (SharpFuzz's persistent mode; Cluster.Vmm.dll instrumented)
//   Harness TARGET --seeds DIR                writes the target's seeds to DIR (afl-fuzz's -i)
//   Harness TARGET --replay FILE...           runs the target on each file; exit 1 on the first that fails
//   Harness TARGET --mutate N SEED FAILURES   N mutants of the seeds (no coverage feedback), failing inputs kept in FAILURES
//   Harness --list                            the targets' names
using System.Security.Cryptography;
using Cluster.Vmm.Tests.Fuzz;

if (args.Length == 1 && args[0] == "--list")
{
    foreach (var name in FuzzTargets.All.Keys) Console.WriteLine(name);
    return 0;
}
if (args.Length < 2 || !FuzzTargets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: Harness TARGET --afl|--seeds DIR|--replay FILE...|--mutate N SEED FAILURES (targets: {string.Join(", ", FuzzTargets.All.Keys)})");
    return 2;
}
switch (args[1])
{
    case "--afl":
        SharpFuzz.Fuzzer.Run(stream =>
        {
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            target.Run(buffer.ToArray());
        });
        return 0;
    case "--seeds":
        Directory.CreateDirectory(args[2]);
        int i = 0;
        foreach (var seed in target.Seeds())
            File.WriteAllBytes(Path.Combine(args[2], $"seed-{i++}"), seed);
        Console.WriteLine($"{i} seeds");
        return i > 0 ? 0 : 3;
    case "--replay":
        foreach (var file in args.Skip(2))
        {
            try
            {
                target.Run(File.ReadAllBytes(file));
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"{file}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
                return 1;
            }
        }
        return 0;
    case "--mutate":
    {
        long count = long.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
        int seedValue = int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);
        string failures = args[4];
        var seeds = target.Seeds().ToList();
        if (seeds.Count == 0)
        {
            Console.WriteLine("mutants=0 failures=0 (no seeds)");
            return 0;
        }
        var mutator = new Mutator(seedValue);
        int maxLength = Math.Max(seeds.Max(s => s.Length) * 2, 4096);
        var corpus = new List<byte[]>(seeds);
        long failed = 0;
        for (long n = 0; n < count; n++)
        {
            var input = mutator.Mutate(corpus[(int)(n % corpus.Count)], corpus[(int)((n * 7 + 1) % corpus.Count)], maxLength);
            try
            {
                target.Run(input);
            }
            catch (Exception e)
            {
                failed++;
                Directory.CreateDirectory(failures);
                var path = Path.Combine(failures, Convert.ToHexStringLower(SHA256.HashData(input))[..16]);
                if (!File.Exists(path))
                {
                    File.WriteAllBytes(path, input);
                    Console.Error.WriteLine($"{path}: {e.GetType().Name}: {e.Message}");
                }
            }
        }
        Console.WriteLine($"mutants={count} failures={failed}");
        return 0;
    }
    default:
        Console.Error.WriteLine($"unknown mode {args[1]}");
        return 2;
}
