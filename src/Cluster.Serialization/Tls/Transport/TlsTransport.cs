using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote.Transport;
using Akka.Remote.Transport.DotNetty;

namespace Cluster.Serialization.Tls.Transport;

/// <summary>
/// Akka.Remote's transport for the cluster: TCP with mutual TLS (<see cref="SslStream"/>), configured where Akka.Remote's
/// DotNetty transport is (<c>akka.remote.dot-netty.tcp</c>: hostname, port, public-hostname, maximum-frame-size,
/// connection-timeout) with the identity of <see cref="DotNettySslSetup"/>, and wire-compatible with it (the same TLS and
/// framing, addresses <c>akka.ssl.tcp</c>).
/// <para>
/// Why not DotNetty's: Akka.Remote 1.5.73-1.5.75 runs a coordinated shutdown (exit code 79) on any failed TLS handshake of an
/// outbound connection, and a handshake also fails when the peer's process ends or resets the connection during it. So a
/// host that connected to a peer in the moment it died (a downed or killed host, an exiting vmctl) ended itself as well:
/// one host's death could take others with it. Here a failed handshake is what it is on the wire, a failed association:
/// Akka gates the address and tries again later. A peer whose certificate the cluster refuses is refused and logged, on
/// either side, and nothing else happens; a process whose own certificate is bad is stopped at its start
/// (<see cref="RemoteTls.Load"/>).
/// </para>
/// </summary>
public sealed class TlsTransport : Akka.Remote.Transport.Transport
{
    private readonly ILoggingAdapter _log;
    private readonly DotNettySslSetup _identity;
    private readonly SslStreamCertificateContext _serverContext;
    private readonly string _hostname;
    private readonly string _publicHostname;
    private readonly int _port;
    private readonly int? _publicPort;
    private readonly TimeSpan _connectTimeout;
    private readonly TimeSpan _flushWait;
    private readonly TaskCompletionSource<IAssociationEventListener> _associationListener = new();
    private readonly ConcurrentDictionary<TlsAssociationHandle, byte> _handles = new();
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;
    private Address? _localAddress;

    /// <summary>Made by Akka.Remote from <c>transport-class</c>.</summary>
    public TlsTransport(ActorSystem system, Config config)
    {
        System = system;
        Config = config;
        _log = Logging.GetLogger(system, typeof(TlsTransport));
        var identity = system.Settings.Setup.Get<DotNettySslSetup>();
        if (!identity.HasValue || identity.Value.CustomValidator is null)
            throw new ConfigurationException($"{nameof(TlsTransport)} needs the process's TLS identity ({nameof(RemoteTls)}.{nameof(RemoteTls.Bootstrap)})");
        _identity = identity.Value;
        _serverContext = SslStreamCertificateContext.Create(_identity.Certificate, additionalCertificates: null, offline: true);
        _hostname = config.GetString("hostname", null) is { Length: > 0 } host ? host : IPAddress.Any.ToString();
        _publicHostname = config.GetString("public-hostname", null) is { Length: > 0 } publicHost ? publicHost : _hostname;
        _port = config.GetInt("port", 2552);
        _publicPort = config.GetInt("public-port", 0) is > 0 and var p ? p : null;
        _connectTimeout = config.GetTimeSpan("connection-timeout", TimeSpan.FromSeconds(15));
        _flushWait = system.Settings.Config.GetTimeSpan("akka.remote.flush-wait-on-shutdown", TimeSpan.FromSeconds(2));
        MaximumPayloadBytes = config.GetByteSize("maximum-frame-size", null) ?? 128000;
        SchemeIdentifier = "ssl.tcp";
    }

    public override bool IsResponsibleFor(Address remote) => true;

    public override async Task<(Address, TaskCompletionSource<IAssociationEventListener>)> Listen()
    {
        var ip = await ResolveAsync(_hostname).ConfigureAwait(false);
        var listener = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(new IPEndPoint(ip, _port));
            listener.Listen(4096);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new Akka.Remote.RemoteTransportException($"Failed to bind to [{ip}:{_port}]: {e.Message}", e);
        }
        _listener = listener;
        var bound = (IPEndPoint)listener.LocalEndPoint!;
        _localAddress = new Address(SchemeIdentifier, System.Name, _publicHostname, _publicPort ?? bound.Port);
        _ = Task.Run(AcceptLoopAsync);
        return (_localAddress, _associationListener);
    }

    public override async Task<AssociationHandle> Associate(Address remoteAddress)
    {
        if (_localAddress is null)
            throw new InvalidOperationException("the transport is not listening yet");
        var host = remoteAddress.Host ?? throw new InvalidAssociationException($"no host in {remoteAddress}");
        var port = remoteAddress.Port ?? throw new InvalidAssociationException($"no port in {remoteAddress}");
        Socket? socket = null;
        SslStream? stream = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(_connectTimeout);
            var ip = await ResolveAsync(host).ConfigureAwait(false);
            socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(new IPEndPoint(ip, port), timeout.Token).ConfigureAwait(false);
            stream = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
            await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                ClientCertificates = [_identity.Certificate],
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Validate(certificate, chain, remoteAddress.ToString(), errors),
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            }, timeout.Token).ConfigureAwait(false);
            var handle = Track(new TlsAssociationHandle(_localAddress, remoteAddress, socket, stream, MaximumPayloadBytes, _log, Untrack));
            handle.Start();
            return handle;
        }
        catch (Exception e) when (e is SocketException or IOException or AuthenticationException or OperationCanceledException or ObjectDisposedException)
        {
            stream?.Dispose();
            socket?.Dispose();
            // A failed association, whatever its cause (refused, reset or closed during the handshake, a certificate refused):
            // Akka gates the address and tries again; the process goes on.
            if (e is AuthenticationException)
                _log.Warning("TLS handshake with {0} failed: {1}", remoteAddress, e.GetBaseException().Message);
            throw new InvalidAssociationException($"Failed to associate with {remoteAddress}: {e.GetBaseException().Message}", e);
        }
    }

    public override async Task<bool> Shutdown()
    {
        _stopping.Cancel();
        _listener?.Dispose();
        var handles = _handles.Keys.ToList();
        foreach (var handle in handles)
            handle.Disassociate("the transport shuts down", _log);
        var deadline = DateTime.UtcNow + _flushWait;
        while (!_handles.IsEmpty && DateTime.UtcNow < deadline)
            await Task.Delay(50).ConfigureAwait(false);
        foreach (var handle in _handles.Keys.ToList())
            handle.Abort();
        return true;
    }

    private async Task AcceptLoopAsync()
    {
        IAssociationEventListener listener;
        try
        {
            listener = await _associationListener.Task.WaitAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener!.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                _log.Warning("accepting a remoting connection failed: {0}", e.Message);
                continue;
            }
            _ = Task.Run(() => AcceptAsync(socket, listener));
        }
    }

    private async Task AcceptAsync(Socket socket, IAssociationEventListener listener)
    {
        var peer = socket.RemoteEndPoint as IPEndPoint;
        SslStream? stream = null;
        try
        {
            socket.NoDelay = true;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(_connectTimeout);
            stream = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
            await stream.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = _serverContext,
                ClientCertificateRequired = true,
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Validate(certificate, chain, $"{peer}", errors),
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            }, timeout.Token).ConfigureAwait(false);
            var remote = new Address(SchemeIdentifier, System.Name, peer?.Address.ToString() ?? "unknown", peer?.Port ?? 0);
            var handle = Track(new TlsAssociationHandle(_localAddress!, remote, socket, stream, MaximumPayloadBytes, _log, Untrack));
            handle.Start();
            listener.Notify(new InboundAssociation(handle));
        }
        catch (Exception e) when (e is SocketException or IOException or AuthenticationException or OperationCanceledException or ObjectDisposedException)
        {
            stream?.Dispose();
            socket.Dispose();
            _log.Warning("refused a remoting connection from {0}: {1}", peer, e.GetBaseException().Message);
        }
    }

    private bool Validate(X509Certificate? certificate, X509Chain? chain, string peer, SslPolicyErrors errors)
    {
        var certificate2 = certificate as X509Certificate2 ?? (certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
        return _identity.CustomValidator!(certificate2, chain, peer, errors, _log);
    }

    private TlsAssociationHandle Track(TlsAssociationHandle handle)
    {
        _handles[handle] = 0;
        if (_stopping.IsCancellationRequested)
            handle.Abort();
        return handle;
    }

    private void Untrack(TlsAssociationHandle handle) => _handles.TryRemove(handle, out _);

    private static async Task<IPAddress> ResolveAsync(string host)
    {
        if (IPAddress.TryParse(host, out var ip))
            return ip;
        var addresses = await Dns.GetHostAddressesAsync(host).ConfigureAwait(false);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new SocketException((int)SocketError.HostNotFound);
    }
}
