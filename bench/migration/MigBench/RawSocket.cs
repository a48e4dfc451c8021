using System.Net.Sockets;

namespace MigBench;

/// <summary>The reference: 64 KiB writes from one thread to a reader on another over loopback TCP,
/// with the socket buffers the migration stream uses.</summary>
internal static class RawSocket
{
    public static int Run(Args a)
    {
        Console.WriteLine($"raw_mib_s={Measure(a.GetLong("mib", 2048) << 20):0}");
        return 0;
    }

    /// <summary>Sends <paramref name="total"/> bytes through loopback; MiB per second.</summary>
    public static double Measure(long total) =>
        Loopback.Measure(total, s => new NetworkStream(s, ownsSocket: false), c => new NetworkStream(c, ownsSocket: false));
}
