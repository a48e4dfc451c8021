using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;

namespace Cluster.Serialization.Tls;

/// <summary>
/// Akka.Remote over mutual TLS: this process's certificate (with its key) and the cluster's trust. Akka.Remote 1.5.73's
/// DotNetty transport takes them through <see cref="DotNettySslSetup"/>: with <c>enable-ssl</c> on, the server asks every
/// connecting peer for a certificate (mutual authentication) and both sides hand the peer's certificate to one custom
/// validator, here <see cref="ClusterTrust.Check(X509Certificate2?)"/>, instead of the system store's chain check.
/// Addresses then use the protocol <c>akka.ssl.tcp</c>. The connections themselves are made by the cluster's own transport
/// (<see cref="Transport.TlsTransport"/>), which reads that setup: DotNetty's ends the process on a failed outbound handshake.
/// </summary>
public sealed class RemoteTls
{
    private RemoteTls(X509Certificate2 certificate, ClusterTrust trust)
    {
        Certificate = certificate;
        Trust = trust;
    }

    /// <summary>The protocol of remote addresses over TLS.</summary>
    public const string Protocol = "akka.ssl.tcp";

    /// <summary>This process's certificate (it has its private key).</summary>
    public X509Certificate2 Certificate { get; }

    public ClusterTrust Trust { get; }

    /// <summary>
    /// The HOCON that turns TLS on (the certificate comes from <see cref="Setup"/>) and puts the cluster's own transport
    /// (<see cref="Transport.TlsTransport"/>, which takes the same settings) in the place of DotNetty's.
    /// </summary>
    public static Config Hocon { get; } = ConfigurationFactory.ParseString(
        $"""
        akka.remote.dot-netty.tcp.enable-ssl = on
        akka.remote.dot-netty.tcp.transport-class = "{typeof(Transport.TlsTransport).FullName}, {typeof(Transport.TlsTransport).Assembly.GetName().Name}"
        """);

    /// <summary>
    /// Loads certificate <paramref name="certificateFile"/> (its key beside it, NAME.key) and the trust of
    /// <paramref name="caDirectory"/>, and checks that the certificate is one the cluster accepts (a node whose own
    /// certificate is expired, revoked or from another CA would be refused by every peer: better to say so at start).
    /// </summary>
    /// <exception cref="RemoteTlsException">a file is missing or unreadable, or the certificate is not acceptable.</exception>
    public static RemoteTls Load(string caDirectory, string certificateFile)
    {
        var trust = ClusterTrust.Load(caDirectory);
        var key = TlsFiles.KeyOf(certificateFile);
        if (!File.Exists(certificateFile) || !File.Exists(key))
            throw new RemoteTlsException(
                $"no certificate at {certificateFile} with its key {key} (issue one with 'cluster-node ca issue NAME --ca CADIR --out DIR')");
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(certificateFile, key);
        }
        catch (CryptographicException e)
        {
            throw new RemoteTlsException($"certificate {certificateFile} or key {key} cannot be read: {e.Message}", e);
        }
        if (trust.Check(certificate) is { } reason)
            throw new RemoteTlsException($"this process's own certificate {certificateFile} would be refused by the cluster: {reason}");
        return new RemoteTls(certificate, trust);
    }

    /// <summary>An identity taken as it is, without the check of <see cref="Load"/> (tests: peers the cluster must refuse).</summary>
    internal static RemoteTls Unchecked(X509Certificate2 certificate, ClusterTrust trust) => new(certificate, trust);

    /// <summary>The DotNetty setup: this certificate, mutual authentication, no host name check, the cluster's trust.</summary>
    public DotNettySslSetup Setup() =>
        new(Certificate, suppressValidation: false, requireMutualAuthentication: true, validateCertificateHostname: false, Validate);

    /// <summary>The setup of an ActorSystem with <paramref name="config"/> (TLS turned on over it) and this identity.</summary>
    public ActorSystemSetup Bootstrap(Config config) => BootstrapSetup.Create().WithConfig(Hocon.WithFallback(config)).And(Setup());

    private bool Validate(X509Certificate2? certificate, X509Chain? chain, string peer, SslPolicyErrors errors, ILoggingAdapter log)
    {
        var reason = Trust.Check(certificate);
        if (reason is null)
            return true;
        log.Warning("refused TLS peer {0}: {1}", peer, reason);
        return false;
    }
}
