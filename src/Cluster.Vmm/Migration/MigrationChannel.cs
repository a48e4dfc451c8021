using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Cluster.Vmm.Migration;

/// <summary>
/// How each migration connection (the control connection and every data connection alike) proves itself before
/// its first frame: the source opens TLS 1.3 (AES-GCM suites) and accepts only a server certificate whose SHA-256
/// is the pin it got over the control plane, then sends the one-time token; the target completes the handshake
/// with its short-lived certificate and reads the token, compared in constant time. A connection that fails any
/// step is dropped alone (<see cref="MigrationListener"/>). In plaintext mode (no pin) the token is sent in the
/// clear: it keeps strangers out, but anyone on the path can read it and the guest's memory.
/// </summary>
public static class MigrationChannel
{
    /// <summary>The name the source asks for (the pin, not the name, is what is checked).</summary>
    public const string TargetHost = "cluster-hypervisor-migration";

    /// <summary>The AES-GCM suites of TLS 1.3, AES-128 first (faster, and as strong as the P-256 key exchange).</summary>
    private static readonly TlsCipherSuite[] Suites = [TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_256_GCM_SHA384];

    /// <summary>The source's side on a connected stream: TLS with the pin checked (when there is one), then the token.</summary>
    /// <exception cref="VmmException">the certificate does not match the pin, or the handshake failed.</exception>
    public static Stream Connect(Stream network, MigrationCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(network);
        credentials.Validated();
        Stream stream = network;
        if (credentials.CertificatePin is not null)
        {
            bool pinned = false;
            var ssl = new SslStream(network, leaveInnerStreamOpen: true);
            var options = new SslClientAuthenticationOptions
            {
                TargetHost = TargetHost,
                EnabledSslProtocols = SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                // The certificate is self-signed and short-lived: its pin, delivered over the authenticated control
                // plane, replaces a chain to a CA (name and chain errors are expected and ignored).
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    pinned = certificate is not null && credentials.PinMatches(certificate.GetRawCertData()),
            };
            if (!OperatingSystem.IsWindows()) options.CipherSuitesPolicy = new CipherSuitesPolicy(Suites);
            try
            {
                ssl.AuthenticateAsClient(options);
            }
            catch (AuthenticationException e)
            {
                ssl.Dispose();
                throw new VmmException(pinned
                    ? $"the TLS handshake with the migration target failed: {e.Message}"
                    : "the migration target's certificate does not match the pin it announced: refusing to send the guest", "migration-auth", inner: e);
            }
            stream = ssl;
        }
        stream.Write(credentials.Token);
        stream.Flush();
        return stream;
    }

    /// <summary>
    /// The target's side on an accepted stream: the TLS handshake with <paramref name="identity"/>'s certificate
    /// (when it has one), then the token, all within <paramref name="timeout"/>. Returns the stream to read frames
    /// from; throws when the peer is not the source this identity was made for.
    /// </summary>
    /// <exception cref="VmmException">a wrong token.</exception>
    /// <exception cref="AuthenticationException">the TLS handshake failed.</exception>
    /// <exception cref="IOException">the peer closed or the connection failed.</exception>
    /// <exception cref="OperationCanceledException">the timeout passed or <paramref name="ct"/> was cancelled.</exception>
    public static async Task<Stream> AcceptAsync(Stream network, MigrationIdentity identity, SslStreamCertificateContext? context,
        TimeSpan timeout, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(identity);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        Stream stream = network;
        try
        {
            if (context is not null)
            {
                var ssl = new SslStream(network, leaveInnerStreamOpen: true);
                stream = ssl;
                var options = new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = context,
                    EnabledSslProtocols = SslProtocols.Tls13,
                    ClientCertificateRequired = false,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                };
                if (!OperatingSystem.IsWindows()) options.CipherSuitesPolicy = new CipherSuitesPolicy(Suites);
                await ssl.AuthenticateAsServerAsync(options, cts.Token).ConfigureAwait(false);
            }
            var token = new byte[MigrationCredentials.TokenBytes];
            await stream.ReadExactlyAsync(token, cts.Token).ConfigureAwait(false);
            if (!identity.TokenMatches(token))
                throw new VmmException("the peer sent a wrong migration token", "migration-auth");
            return stream;
        }
        catch
        {
            if (!ReferenceEquals(stream, network)) stream.Dispose();
            throw;
        }
    }

    /// <summary>The server context of <paramref name="identity"/>'s certificate; null for plaintext.</summary>
    public static SslStreamCertificateContext? ServerContext(MigrationIdentity identity) =>
        identity.Certificate is { } certificate ? SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true) : null;

    /// <summary>"TLS 1.3 SUITE" or "plaintext": what a stream is, for logs and tests.</summary>
    public static string Describe(Stream stream) => stream is SslStream ssl
        ? $"{ssl.SslProtocol} {ssl.NegotiatedCipherSuite}"
        : "plaintext";
}
