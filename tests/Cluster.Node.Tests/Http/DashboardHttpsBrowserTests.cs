using System.Net;
using Cluster.Contracts.Access;
using Cluster.Node.Http;
using Cluster.Node.Tests.TestUtils;
using Xunit.Abstractions;

namespace Cluster.Node.Tests.Http;

/// <summary>
/// The dashboard over HTTPS, as a node serves it: chromium speaks HTTP/2 there, and its WebSockets are then CONNECT
/// requests (RFC 8441), not GET upgrades; the console in the page must connect all the same. Skipped, saying so,
/// where chromium is not installed.
/// </summary>
public sealed class DashboardHttpsBrowserTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "dashboard-https", Guid.NewGuid().ToString("N"));
    private GatedApi _api = null!;
    private HeadlessChromium? _browser;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_data);
        var certificate = HttpCertificate.EnsureSelfSigned(_data, IPAddress.Loopback, out _);
        _api = await GatedApi.StartAsync(new DashboardCluster().Answer, certificate);
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
            await _browser.DisposeAsync();
        await _api.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    [ChromiumFact]
    public async Task The_console_connects_over_http2()
    {
        _browser = await HeadlessChromium.StartAsync(Path.Combine(_data, "profiles"), "--ignore-certificate-errors");
        var wait = TimeSpan.FromSeconds(20);
        Assert.StartsWith("https://", _api.Api.Urls[0]);
        await _browser.Navigate(_api.Api.Urls[0] + "/#token=" + await _api.NewToken(Role.Operator, "dashboard-https"));
        Assert.Equal("h2", (await _browser.Evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol")).GetString());
        await _browser.Click("nav button[data-view='vms']");
        await _browser.WaitFor("document.querySelector('tr[data-vm=\"db\"] button[data-action=console]')", wait, "db's console button");
        await _browser.Click("tr[data-vm=\"db\"] button[data-action=console]");
        await _browser.WaitFor("document.getElementById('console-state').textContent !== 'connecting…'", wait, "the socket to open or close");
        Assert.StartsWith("connected", (await _browser.Evaluate("document.getElementById('console-state').textContent")).GetString());
        await _browser.WaitFor("document.querySelector('#terminal .xterm-rows').textContent.includes('hello from db')", wait, "the guest's greeting");
        output.WriteLine("screenshot: " + await _browser.Screenshot(Path.Combine(AppContext.BaseDirectory, "artefacts", "dashboard", "console-https.png")));
    }
}
