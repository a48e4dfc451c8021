using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Nemesis;

/// <summary>The nemesis's latency relay between two network namespaces, with an echo server (no cluster).</summary>
public sealed class LatencyRelayTests
{
    private const int Port = 4799;

    [RootFact]
    public async Task A_relayed_link_adds_its_delay_each_way_resets_older_connections_and_the_direct_path_comes_back()
    {
        using var net = new NetworkNamespaces(2);
        using var server = LatencyRelay.InNamespace(net.Namespace(1), () =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Parse(net.Address(1)), Port));
            s.Listen(16);
            return s;
        });
        using var stop = new CancellationTokenSource();
        var echo = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var c = await server.AcceptAsync(stop.Token);
                _ = Task.Run(async () =>
                {
                    using var _ = c;
                    var buffer = new byte[256];
                    try
                    {
                        for (int n; (n = await c.ReceiveAsync(buffer, SocketFlags.None)) > 0;)
                            await c.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
                    }
                    catch (SocketException) { }
                });
            }
        });

        using var before = await ConnectAsync(net);
        var direct = await RoundTripAsync(before);
        Assert.True(direct < TimeSpan.FromMilliseconds(100), $"direct round trip {direct.TotalMilliseconds:0} ms");

        var delay = TimeSpan.FromMilliseconds(150);
        var relays = new[] { (0, 1), (1, 0) }.Select(p => new LatencyRelay(net.Namespace(p.Item1), net.Address(p.Item2), delay, s => net.Nft(p.Item1, s))).ToArray();
        try
        {
            // The connection opened before is reset (its next packet), so that the nodes open theirs again through the relays.
            await Assert.ThrowsAnyAsync<SocketException>(() => RoundTripAsync(before));
            using var relayed = await ConnectAsync(net);
            var slow = await RoundTripAsync(relayed);
            Assert.True(slow >= 2 * delay - TimeSpan.FromMilliseconds(5), $"relayed round trip {slow.TotalMilliseconds:0} ms");
            Assert.Equal(1, relays[0].Connections);
        }
        finally
        {
            foreach (var h in new[] { 0, 1 })
                net.Nft(h, "delete table ip nemesis_latency");
            foreach (var r in relays)
                r.Dispose();
        }
        using var after = await ConnectAsync(net);
        var again = await RoundTripAsync(after);
        Assert.True(again < TimeSpan.FromMilliseconds(100), $"round trip after the relay {again.TotalMilliseconds:0} ms");
        await stop.CancelAsync();
        server.Dispose();
        try { await echo; }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
    }

    private static async Task<Socket> ConnectAsync(NetworkNamespaces net)
    {
        var s = LatencyRelay.InNamespace(net.Namespace(0), () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await s.ConnectAsync(new IPEndPoint(IPAddress.Parse(net.Address(1)), Port)).WaitAsync(TimeSpan.FromSeconds(5));
        return s;
    }

    private static async Task<TimeSpan> RoundTripAsync(Socket s)
    {
        var watch = Stopwatch.StartNew();
        await s.SendAsync("ping"u8.ToArray(), SocketFlags.None);
        var buffer = new byte[4];
        for (var got = 0; got < 4;)
        {
            var n = await s.ReceiveAsync(buffer.AsMemory(got), SocketFlags.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            if (n == 0)
                throw new SocketException((int)SocketError.ConnectionReset);
            got += n;
        }
        return watch.Elapsed;
    }
}
