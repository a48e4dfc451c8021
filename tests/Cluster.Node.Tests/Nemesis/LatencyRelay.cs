using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Channels;

namespace Cluster.Node.Tests.Nemesis;

/// <summary>
/// Latency on one link without netem (not in these kernels): a transparent TCP relay inside a host's network namespace.
/// nftables there redirects every new TCP connection the host opens to the peer (any port: the cluster's and the migrations'
/// ephemeral ones) to the relay's listener on 127.0.0.1 (<c>redirect</c> in the nat output hook); the relay reads the
/// connection's original destination (<c>SO_ORIGINAL_DST</c>), connects to it from a socket marked
/// <see cref="Mark"/> (which the rules let through), and forwards each direction's bytes <see cref="Delay"/> after it read them.
/// Connections that were open before (direct, unmarked, not come through the peer's relay) are reset, so that the nodes
/// reconnect through the relays. One relay per end of the link (<see cref="NemesisCluster.AddLatency"/>): each delays what
/// its host sends and receives on the connections its host opened. Disposing deletes the rules and closes every relayed
/// connection: the nodes reconnect directly.
/// </summary>
internal sealed partial class LatencyRelay : IDisposable
{
    /// <summary>The socket mark of the relay's own connections to the peer (<c>SO_MARK</c>), which the rules let pass.</summary>
    public const int Mark = 0x4e4d;

    private const int SolIp = 0, SoOriginalDst = 80, SolSocket = 1, SoMark = 36, CloneNewNet = 0x40000000;
    private readonly string _namespace;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _sockets = [];
    private readonly Task _accepting;
    private int _connections;

    public TimeSpan Delay { get; }

    /// <summary>How many connections went through the relay.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Starts a relay in network namespace <paramref name="netns"/> (a name under /var/run/netns) for what its host
    /// exchanges with <paramref name="peer"/>, delaying each direction by <paramref name="delay"/>, and installs the rules.</summary>
    public LatencyRelay(string netns, string peer, TimeSpan delay, Action<string> nft)
    {
        _namespace = netns;
        Delay = delay;
        _listener = InNamespace(netns, () =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            s.Listen(64);
            return s;
        });
        var port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        nft("table ip nemesis_latency {" +
            $" chain nat_out {{ type nat hook output priority -100; policy accept; meta mark {Mark} accept; ip daddr {peer} meta l4proto tcp redirect to :{port}; }};" +
            $" chain in {{ type filter hook input priority 0; policy accept; ip saddr {peer} ct state new ct mark set 1; }};" +
            $" chain out {{ type filter hook output priority 0; policy accept; meta mark {Mark} accept; ip daddr {peer} ct mark != 1 meta l4proto tcp reject with tcp reset; }}; }}");
        _accepting = Task.Run(AcceptAsync);
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = Task.Run(() => RelayAsync(client));
        }
    }

    private async Task RelayAsync(Socket client)
    {
        Socket? upstream = null;
        try
        {
            var to = OriginalDestination(client);
            upstream = InNamespace(_namespace, () =>
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.SetRawSocketOption(SolSocket, SoMark, BitConverter.GetBytes(Mark));
                return s;
            });
            lock (_sockets) _sockets.AddRange([client, upstream]);
            await Task.Delay(Delay, _stop.Token);
            await upstream.ConnectAsync(to, _stop.Token);
            Interlocked.Increment(ref _connections);
            await Task.WhenAll(PumpAsync(client, upstream), PumpAsync(upstream, client));
        }
        catch (Exception) { }
        finally
        {
            client.Dispose();
            upstream?.Dispose();
        }
    }

    /// <summary>Copies <paramref name="from"/> to <paramref name="to"/>, each chunk <see cref="Delay"/> after it was read (the
    /// reads go on meanwhile: the delay is latency, not a lower bandwidth); an end of stream is passed on as a shutdown.</summary>
    private async Task PumpAsync(Socket from, Socket to)
    {
        var queue = Channel.CreateUnbounded<(DateTime Due, byte[]? Data)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var writing = Task.Run(async () =>
        {
            try
            {
                await foreach (var (due, data) in queue.Reader.ReadAllAsync(_stop.Token))
                {
                    var wait = due - DateTime.UtcNow;
                    if (wait > TimeSpan.Zero)
                        await Task.Delay(wait, _stop.Token);
                    if (data is null)
                    {
                        to.Shutdown(SocketShutdown.Send);
                        return;
                    }
                    await to.SendAsync(data, SocketFlags.None, _stop.Token);
                }
            }
            catch (Exception)
            {
                from.Dispose();
                to.Dispose();
            }
        });
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                queue.Writer.TryWrite((DateTime.UtcNow + Delay, n == 0 ? null : buffer[..n]));
                if (n == 0)
                    break;
            }
        }
        catch (Exception)
        {
            from.Dispose();
            to.Dispose();
        }
        queue.Writer.TryComplete();
        await writing;
    }

    private static IPEndPoint OriginalDestination(Socket socket)
    {
        Span<byte> address = stackalloc byte[16];
        var n = socket.GetRawSocketOption(SolIp, SoOriginalDst, address);
        if (n < 8)
            throw new InvalidOperationException("no original destination");
        return new IPEndPoint(new IPAddress(address[4..8]), BinaryPrimitives.ReadUInt16BigEndian(address[2..4]));
    }

    /// <summary>Runs <paramref name="make"/> on a thread of its own that has entered the namespace: a socket belongs to the
    /// namespace it was created in, wherever it is used afterwards.</summary>
    public static T InNamespace<T>(string netns, Func<T> make)
    {
        T? made = default;
        Exception? failed = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var ns = File.OpenHandle($"/var/run/netns/{netns}");
                // SAFETY: setns(2) with an open namespace file and CLONE_NEWNET moves only this thread (created for the
                // purpose and ended right after) into the namespace; the handle stays open for the call.
                if (SetNs((int)ns.DangerousGetHandle(), CloneNewNet) != 0)
                    throw new InvalidOperationException($"setns({netns}) failed: errno {Marshal.GetLastPInvokeError()}");
                made = make();
            }
            catch (Exception e) { failed = e; }
        });
        thread.Start();
        thread.Join();
        return failed is null ? made! : throw new InvalidOperationException($"in namespace {netns}: {failed.Message}", failed);
    }

    // SAFETY: setns(2) from libc: takes an int file descriptor and flags, touches no managed memory.
    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);

    /// <summary>Closes the listener and every relayed connection (the rules are deleted by the cluster).</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        lock (_sockets)
            foreach (var s in _sockets)
                s.Dispose();
        try { _accepting.Wait(TimeSpan.FromSeconds(5)); }
        catch (AggregateException) { }
        _stop.Dispose();
    }
}
