using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Cluster.Contracts.Json;

namespace Cluster.Vmctl.Client;

/// <summary>
/// The control client over a node's HTTPS API (<c>vmctl --server https://HOST:PORT</c>): each ask is one
/// <c>POST /api/v1/command</c> with the contract as JSON (<see cref="ContractJson"/>: source-generated, so it runs in the
/// NativeAOT vmctl, where MessagePack's dynamic resolver cannot) and the bearer token, answered with the reply as JSON,
/// the same contracts the ClusterClient path carries, so every verb and live view works unchanged, without an
/// ActorSystem per call. The server's certificate is checked against <c>--cacert</c> as the only root when one is given
/// (the node's self-signed DATA/http-cert.pem, or the CA that issued its certificate), else against the system's roots.
/// </summary>
public sealed class HttpsControlClient : IControlClient, IDisposable
{
    private const string CommandPath = "/api/v1/command";
    private const string ContentType = ContractJson.ContentType;
    private const string ContractHeader = "X-Contract";
    private const string FailureHeader = "X-Failure";
    private const string TimeoutHeader = "X-Timeout-Ms";

    private readonly HttpClient _http;
    private readonly Uri _command;
    private readonly string _token;

    /// <summary>A client of a node's API.</summary>
    /// <param name="server">The API's address, https://HOST:PORT.</param>
    /// <param name="token">The bearer token sent with every command.</param>
    /// <param name="timeout">How long to wait for each answer.</param>
    /// <param name="trusted">The certificates trusted as roots (null: the system's).</param>
    public HttpsControlClient(Uri server, string token, TimeSpan timeout, X509Certificate2Collection? trusted)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (server.Scheme != Uri.UriSchemeHttps)
            throw new ArgumentException($"'{server}' is not an https:// address: the API speaks HTTPS only", nameof(server));
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = Validation(trusted),
            },
        };
        _http = new HttpClient(handler) { Timeout = timeout + TimeSpan.FromSeconds(2) };
        _command = new Uri(server, CommandPath);
        _token = token;
        Timeout = timeout;
        Server = server;
    }

    /// <summary>How long to wait for any one answer.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The API's address.</summary>
    public Uri Server { get; }

    /// <summary>Sends <paramref name="message"/> and waits for the one reply (a failure the cluster answered with comes back
    /// as <see cref="ClusterFailure"/>, as on the ClusterClient path).</summary>
    /// <exception cref="NodeUnreachableException">no connection, a refused certificate, no reply in time, or an HTTP error.</exception>
    public async Task<object> AskAsync(object message)
    {
        var (manifest, payload) = ContractJson.Encode(message);
        using var request = new HttpRequestMessage(HttpMethod.Post, _command) { Content = new ByteArrayContent(payload) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(ContentType);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(ContentType));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        request.Headers.Add(ContractHeader, manifest);
        request.Headers.Add(TimeoutHeader, ((long)Timeout.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request);
        }
        catch (HttpRequestException e)
        {
            throw new NodeUnreachableException($"cannot reach {Server}: {Reason(e)}", e);
        }
        catch (TaskCanceledException e)
        {
            throw new NodeUnreachableException($"{Server} did not answer {message.GetType().Name} within {Timeout.TotalSeconds:0.#} s", e);
        }
        using (response)
        {
            var body = await response.Content.ReadAsByteArrayAsync();
            switch (response.StatusCode)
            {
                case HttpStatusCode.OK:
                    var type = response.Headers.TryGetValues(ContractHeader, out var values) ? values.FirstOrDefault() : null;
                    return ContractJson.Decode(type, body, out var error)
                           ?? throw new NodeUnreachableException($"{Server} answered something that is no contract: {error}");
                case HttpStatusCode.BadGateway when response.Headers.TryGetValues(FailureHeader, out var failure):
                    return new ClusterFailure(Uri.UnescapeDataString(failure.First()));
                case HttpStatusCode.GatewayTimeout:
                    throw new NodeUnreachableException($"the node did not answer {message.GetType().Name} within {Timeout.TotalSeconds:0.#} s");
                default:
                    throw new NodeUnreachableException($"{Server} answered {(int)response.StatusCode} {response.ReasonPhrase}: {Text(body)}");
            }
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The certificates of a PEM file, to trust as roots.</summary>
    /// <exception cref="NodeUnreachableException">the file is missing or holds no certificate.</exception>
    public static X509Certificate2Collection LoadTrusted(string pemFile)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(pemFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new NodeUnreachableException($"cannot read the CA file {pemFile}: {e.Message}", e);
        }
        return certificates.Count > 0 ? certificates : throw new NodeUnreachableException($"{pemFile} holds no certificate");
    }

    /// <summary>The check of the server's certificate for <paramref name="trusted"/> as the only roots (null: the system's
    /// default check), for any connection to the API (the console's WebSocket too).</summary>
    public static RemoteCertificateValidationCallback? Validation(X509Certificate2Collection? trusted) =>
        trusted is null ? null : (_, certificate, _, errors) => Trusted(certificate, errors, trusted);

    /// <summary>The server's certificate names the address asked for and chains to one of <paramref name="trusted"/> alone.</summary>
    private static bool Trusted(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection trusted)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
            return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    private static string Reason(HttpRequestException e) =>
        e.InnerException is System.Security.Authentication.AuthenticationException
            ? $"its certificate is not trusted ({e.InnerException.Message}; give --cacert FILE: the node's DATA/http-cert.pem or the CA that issued its certificate)"
            : e.InnerException?.Message ?? e.Message;

    private static string Text(byte[] body) => body.Length == 0 ? "(no body)" : System.Text.Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 500));
}
