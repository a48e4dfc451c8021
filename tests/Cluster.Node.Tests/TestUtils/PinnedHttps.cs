using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>An HTTPS client that trusts one certificate file as its only CA (as <c>curl --cacert FILE</c> does), names checked.</summary>
internal static class PinnedHttps
{
    public static HttpClient Client(string certificateFile, Uri baseAddress)
    {
        var pinned = X509CertificateLoader.LoadCertificateFromFile(certificateFile);
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
                    return false;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(pinned);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(certificate);
            },
        };
        return new HttpClient(handler) { BaseAddress = baseAddress };
    }
}
