using System.Net;
using System.Net.Sockets;

namespace Cluster.Vmm.Tests.Migration;

/// <summary>
/// A TCP relay in front of a migration target, for any number of connections: it forwards both ways, can record what
/// the source sends (to look for guest memory on the wire), and can cut the first connection (the control
/// connection) after a number of bytes from the source while the others go on.
/// </summary>
internal sealed class Relay : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly long _cutControlAfter;
    private readonly MemoryStream? _recorded;
    private readonly List<Socket> _sockets = [];
    private long _controlBytes;
    private int _connections;
    private volatile bool _cut;

    /// <summary>Relays to <paramref name="target"/>; cuts the control connection after <paramref name="cutControlAfter"/>
    /// bytes from the source (0: never); records the source's bytes when <paramref name="record"/>.</summary>
    public Relay(IPEndPoint target, long cutControlAfter = 0, bool record = false)
    {
        _target = target;
        _cutControlAfter = cutControlAfter;
        _recorded = record ? new MemoryStream() : null;
        _listener.Start();
        _ = Task.Run(AcceptLoop);
    }

    public IPEndPoint Endpoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Whether the control connection was cut.</summary>
    public bool Cut => _cut;

    /// <summary>Connections relayed.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>What the source sent, all connections in arrival order.</summary>
    public byte[] Recorded
    {
        get
        {
            lock (_recorded!) return _recorded.ToArray();
        }
    }

    private async Task AcceptLoop()
    {
        while (true)
        {
            Socket client;
            try { client = await _listener.AcceptSocketAsync(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
            int index = Interlocked.Increment(ref _connections) - 1;
            _ = Task.Run(() => Pipe(client, index));
        }
    }

    private async Task Pipe(Socket client, int index)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        lock (_sockets)
        {
            _sockets.Add(client);
            _sockets.Add(server);
        }
        try
        {
            await server.ConnectAsync(_target);
            var back = Pump(server, client, fromSource: false, control: false);
            await Pump(client, server, fromSource: true, control: index == 0);
            client.Close(0);
            server.Close(0);
            await back;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            client.Close(0);
            server.Close(0);
        }
    }

    /// <summary>Forwards until either side closes; records the source's bytes; on the control connection, stops after the cut.</summary>
    private async Task Pump(Socket from, Socket to, bool fromSource, bool control)
    {
        var buffer = new byte[64 << 10];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer);
                if (n == 0) return;
                if (control && _cutControlAfter > 0 && Interlocked.Add(ref _controlBytes, n) > _cutControlAfter)
                {
                    _cut = true;
                    return;
                }
                if (_recorded is not null && fromSource)
                    lock (_recorded) _recorded.Write(buffer, 0, n);
                await to.SendAsync(buffer.AsMemory(0, n));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
    }

    public void Dispose()
    {
        _listener.Stop();
        lock (_sockets)
            foreach (var s in _sockets) s.Dispose();
    }
}
