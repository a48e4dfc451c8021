using System.Diagnostics;
using System.Net;
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
    public static double Measure(long total)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var reader = Task.Run(() =>
        {
            using var s = listener.AcceptSocket();
            s.ReceiveBufferSize = 4 << 20;
            var buffer = new byte[64 << 10];
            long got = 0;
            while (got < total)
            {
                int n = s.Receive(buffer);
                if (n == 0) break;
                got += n;
            }
            return got;
        });
        using var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        c.SendBufferSize = 4 << 20;
        c.NoDelay = true;
        c.Connect((IPEndPoint)listener.LocalEndpoint);
        var data = new byte[64 << 10];
        Random.Shared.NextBytes(data);
        var clock = Stopwatch.StartNew();
        for (long sent = 0; sent < total; sent += data.Length) c.Send(data);
        long received = reader.GetAwaiter().GetResult();
        double seconds = clock.Elapsed.TotalSeconds;
        listener.Stop();
        return received / seconds / (1 << 20);
    }
}
