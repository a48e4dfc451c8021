using System.Globalization;

namespace Cluster.Vmm.Tests.Storage;

/// <summary>
/// Seeded random workloads: qemu-io commands for images qemu writes, and the same kinds of requests
/// (writes, zeroing, discards, sector-aligned and crossing clusters) for images this project writes.
/// </summary>
internal static class QemuWorkload
{
    /// <summary>qemu-io -c arguments: pattern writes, zero writes (write -z) and discards.</summary>
    public static string[] QemuIoCommands(int seed, ulong size, int count, bool zeroes = true, bool discards = true)
    {
        var random = new Random(seed);
        var args = new List<string>();
        for (int i = 0; i < count; i++)
        {
            var (offset, length) = Range(random, size);
            int kind = random.Next(10);
            string command = kind switch
            {
                < 7 => $"write -P {random.Next(1, 256)} {offset} {length}",
                < 9 when zeroes => $"write -z {offset} {length}",
                9 when discards => $"discard {offset} {length}",
                _ => $"write -P {random.Next(1, 256)} {offset} {length}",
            };
            args.Add("-c");
            args.Add(command);
        }
        return [.. args];
    }

    /// <summary>A sector-aligned range of up to 128 KiB inside <paramref name="size"/>.</summary>
    public static (ulong Offset, ulong Length) Range(Random random, ulong size)
    {
        ulong sectors = size / 512;
        ulong length = (ulong)random.Next(1, 257);
        ulong offset = (ulong)random.NextInt64(0, (long)(sectors - length + 1));
        return (offset * 512, length * 512);
    }

    public static string Bytes(ulong n) => n.ToString(CultureInfo.InvariantCulture);
}
