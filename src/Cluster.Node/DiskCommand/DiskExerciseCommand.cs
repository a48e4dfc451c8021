using Cluster.Node.Cli;
using System.Globalization;
using Cluster.Vmm.Storage;

namespace Cluster.Node.DiskCommand;

/// <summary>
/// <c>cluster-node disk exercise</c>: a seeded loop of random writes, zeroing and discards on an
/// image, for tests that kill the process in the middle (the image must stay consistent).
/// </summary>
internal static class DiskExerciseCommand
{
    public static int Run(CliArgs a, TextWriter stdout, TextWriter stderr)
    {
        int seed = 1;
        long ops = long.MaxValue;
        if (a.Get("--seed") is { } s && !int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out seed))
            return DiskCommands.UsageError(stderr, "exercise", $"bad seed '{s}'");
        if (a.Get("--ops") is { } o && !long.TryParse(o, NumberStyles.None, CultureInfo.InvariantCulture, out ops))
            return DiskCommands.UsageError(stderr, "exercise", $"bad operation count '{o}'");
        using var image = DiskImage.Open(a.Operands[0], null, readOnly: false, DiskCacheMode.Writeback);
        var random = new Random(seed);
        ulong sectors = image.VirtualSize / 512;
        var data = new byte[128 << 10];
        for (long i = 1; i <= ops; i++)
        {
            ulong length = (ulong)random.Next(1, 257);
            ulong offset = (ulong)random.NextInt64(0, (long)(sectors - Math.Min(length, sectors) + 1)) * 512;
            length = Math.Min(length * 512, image.VirtualSize - offset);
            switch (random.Next(10))
            {
                case < 7:
                    random.NextBytes(data.AsSpan(0, (int)length));
                    image.Write(offset, data.AsSpan(0, (int)length));
                    break;
                case < 9:
                    image.WriteZeroes(offset, length, random.Next(2) == 0);
                    break;
                default:
                    image.Discard(offset, length);
                    break;
            }
            if (i % 100 == 0)
            {
                stdout.WriteLine($"ops {i}");
                stdout.Flush();
            }
        }
        image.Flush();
        return DiskCommands.ExitOk;
    }
}
