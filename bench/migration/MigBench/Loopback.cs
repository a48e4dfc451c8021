using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace MigBench;

/// <summary>64 KiB writes from one thread to a reader on another over loopback TCP, with the socket buffers the migration
/// stream uses, through whatever stream each end wraps its socket in.</summary>
internal static class Loopback
{
    /// <summary>Sends <paramref name="total"/> bytes; MiB per second from the first write to the last byte read.</summary>
    public static double Measure(long total, Func<Socket, Stream> server, Func<Socket, Stream> client)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var reader = Task.Run(() =>
        {
            using var s = listener.AcceptSocket();
            s.ReceiveBufferSize = 4 << 20;
            using var stream = server(s);
            var buffer = new byte[64 << 10];
            long got = 0;
            while (got < total)
            {
                int n = stream.Read(buffer);
                if (n == 0) break;
                got += n;
            }
            return got;
        });
        using var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        c.SendBufferSize = 4 << 20;
        c.NoDelay = true;
        c.Connect((IPEndPoint)listener.LocalEndpoint);
        using var writer = client(c);
        var data = new byte[64 << 10];
        Random.Shared.NextBytes(data);
        var clock = Stopwatch.StartNew();
        for (long sent = 0; sent < total; sent += data.Length) writer.Write(data);
        long received = reader.GetAwaiter().GetResult();
        double seconds = clock.Elapsed.TotalSeconds;
        listener.Stop();
        return received / seconds / (1 << 20);
    }
}
