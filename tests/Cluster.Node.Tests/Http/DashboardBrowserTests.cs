using System.Text;
using Akka.Actor;
using Cluster.Contracts.Access;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Node.Tests.TestUtils;
using Cluster.Serialization;
using Xunit.Abstractions;

namespace Cluster.Node.Tests.Http;

/// <summary>
/// The dashboard in a real browser (Debian's headless chromium, driven over DevTools) against the API behind the real
/// access gate, in front of a canned cluster whose answers change with the commands it gets (<see cref="DashboardCluster"/>):
/// the tests click through a migration and a drain with their confirmations, check what reached the cluster and with
/// which token (the gate's audit log), and that the page shows the new state; they draw graphs from the history route
/// and type into the console. Screenshots are kept under the test's output folder (artefacts/dashboard/), their paths
/// printed. Skipped, saying so, where chromium is not installed.
/// </summary>
public sealed class DashboardBrowserTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly string _profiles = Path.Combine(Path.GetTempPath(), "dashboard-browser", Guid.NewGuid().ToString("N"));
    private readonly string _artefacts = Path.Combine(AppContext.BaseDirectory, "artefacts", "dashboard");
    private readonly DashboardCluster _cluster = new();
    private GatedApi _api = null!;
    private HeadlessChromium? _browser;

    public async Task InitializeAsync() => _api = await GatedApi.StartAsync(_cluster.Answer);

    public async Task DisposeAsync()
    {
        if (_browser is not null)
            await _browser.DisposeAsync();
        await _api.DisposeAsync();
        if (Directory.Exists(_profiles))
            Directory.Delete(_profiles, recursive: true);
    }

    /// <summary>A browser on the dashboard with a new token of <paramref name="role"/> in the URL's fragment (none when null).</summary>
    private async Task<HeadlessChromium> Open(Role? role, string name = "dashboard")
    {
        _browser = await HeadlessChromium.StartAsync(_profiles);
        var fragment = role is { } r ? "#token=" + await _api.NewToken(r, name) : "";
        await _browser.Navigate(_api.Api.Urls[0] + "/" + fragment);
        return _browser;
    }

    private async Task Shot(HeadlessChromium browser, string name) =>
        output.WriteLine("screenshot: " + await browser.Screenshot(Path.Combine(_artefacts, name + ".png")));

    private async Task<IReadOnlyList<AuditRecord>> Audit()
    {
        var reply = await _api.Gate.Ask<object>(BearerCommands.Wrap(_api.AdminToken, new ListAudit(100)), TimeSpan.FromSeconds(10));
        return reply is AuditList list ? list.Records : throw new InvalidOperationException($"no audit log: {reply}");
    }

    private static string Row(string attribute, string value) => $"tr[data-{attribute}=\"{value}\"]";

    [ChromiumFact]
    public async Task Without_a_token_it_asks_for_one_and_fetches_nothing_and_with_one_it_shows_the_cluster()
    {
        var browser = await Open(null);
        await browser.WaitFor("!document.getElementById('login').hidden", Wait, "the token form");
        await Task.Delay(1500);
        Assert.Empty(_api.Received);

        var viewer = await _api.NewToken(Role.Viewer, "viewer");
        await browser.Navigate(_api.Api.Urls[0] + "/#token=" + viewer);
        await browser.WaitFor("document.getElementById('rebalance').textContent.startsWith('rebalancer: recommend')", Wait, "the rebalancer's status");
        await browser.WaitFor($"document.querySelector('{Row("host", "h2:1")}')", Wait, "the hosts");
        Assert.True((await browser.Evaluate("document.getElementById('login').hidden")).GetBoolean());
        Assert.Equal("/", (await browser.Evaluate("location.pathname + location.hash")).GetString());
        Assert.Contains(_api.Received, m => m is GetRebalanceStatus);

        await browser.Click("nav button[data-view='networks']");
        await browser.WaitFor("document.getElementById('networks').textContent.includes('web 52:54:00:00:00:01 10.9.0.2')", Wait, "the network lan");
        Assert.True((await browser.Evaluate("document.getElementById('view-hosts').hidden")).GetBoolean());
        await browser.Click("nav button[data-view='disks']");
        await browser.WaitFor($"document.getElementById('disks').textContent.includes('{DashboardCluster.DbDisk}')", Wait, "db's disk");
        Assert.Equal([DashboardCluster.DbDisk, "db", "qcow2", "read-write", "h1:1, h2:1 (missing)"],
            (await browser.Evaluate("[...document.querySelectorAll('#disks td')].map(td => td.textContent)")).EnumerateArray().Select(e => e.GetString()));
        await Shot(browser, "disks");
        Assert.Empty(browser.Problems);
    }

    [ChromiumFact]
    public async Task Creates_stops_and_starts_vms_after_confirmation()
    {
        var browser = await Open(Role.Operator, "dashboard-operator");
        await browser.Click("nav button[data-view='vms']");
        await browser.WaitFor($"document.querySelector('{Row("vm", "web")} button[data-action=stop]')", Wait, "web's stop button");
        await browser.Click($"{Row("vm", "web")} button[data-action=stop]");
        await browser.WaitFor("document.getElementById('confirm').open", Wait, "the confirmation");
        await browser.Click("#confirm-ok");
        await browser.WaitFor($"document.querySelector('{Row("vm", "web")}[data-status=Stopped] button[data-action=start]')", Wait, "web stopped");
        await browser.Click($"{Row("vm", "web")} button[data-action=start]");
        await browser.WaitFor("document.getElementById('confirm').open", Wait, "the confirmation");
        await browser.Click("#confirm-ok");
        await browser.WaitFor($"document.querySelector('{Row("vm", "web")}[data-status=Running]')", Wait, "web running again");

        await browser.Click("#create input[name=id]");
        await browser.Type("api-1");
        await browser.Evaluate("document.querySelector('#create input[name=memory]').select()");
        await browser.Type("32M");
        await browser.Click("#create-button");
        await browser.WaitFor("document.getElementById('confirm').open", Wait, "the confirmation");
        Assert.Equal("Create VM api-1 (1 vCPU, 32M, image hello) and start it?", (await browser.Evaluate("document.getElementById('confirm-text').textContent")).GetString());
        await browser.Click("#confirm-ok");
        await browser.WaitFor($"document.querySelector('{Row("vm", "api-1")}[data-status=Running]')", Wait, "api-1 created and running");
        await Shot(browser, "created");

        var created = Assert.Single(_api.Received.OfType<CreateVm>());
        Assert.Equal(("api-1", 32UL << 20, 1), (created.Spec.Id, created.Spec.MemoryBytes, created.Spec.Vcpus));
        Assert.Equal(["web", "api-1"], _api.Received.OfType<StartVm>().Select(s => s.VmId));
        Assert.Equal("web", Assert.Single(_api.Received.OfType<StopVm>()).VmId);
        Assert.Empty(browser.Problems);
    }

    [ChromiumFact]
    public async Task Migrates_a_vm_after_confirmation_and_shows_the_progress_the_rounds_chart_and_the_new_host()
    {
        var browser = await Open(Role.Operator, "dashboard-operator");
        await browser.Click("nav button[data-view='vms']");
        await browser.WaitFor($"document.querySelector('{Row("vm", "web")} button[data-action=migrate]')", Wait, "web's migrate button");
        await browser.Click($"{Row("vm", "web")} button[data-action=migrate]");
        await browser.WaitFor("document.getElementById('confirm').open", Wait, "the confirmation");
        Assert.Equal("h2:1", (await browser.Evaluate("document.getElementById('migrate-target').value")).GetString());
        Assert.DoesNotContain(_api.Received, m => m is MigrateVm);
        await Shot(browser, "migrate-confirm");
        await browser.Click("#confirm-ok");

        await browser.WaitFor("document.getElementById('notices').textContent.includes('migrate web: accepted')", Wait, "the accepted notice");
        await browser.WaitFor($"document.querySelector('{Row("migration", "m-web")}')", Wait, "the migration's row");
        await browser.WaitFor($"document.querySelector('{Row("migration", "m-web")}[data-state=Completed]')", Wait, "the migration to complete");
        await browser.WaitFor($"document.querySelector('{Row("vm", "web")}').children[2].textContent === 'h2:1'", Wait, "web on h2:1");
        await browser.WaitFor("document.querySelectorAll('[data-migration=\"m-web\"] polyline[data-name=\"dirty rate\"]').length === 1", Wait, "the rounds chart");
        var points = (await browser.Evaluate("+document.querySelector('[data-migration=\"m-web\"] polyline[data-name=\"transfer rate\"]').dataset.points")).GetInt32();
        Assert.InRange(points, 2, DashboardCluster.Rounds);
        Assert.Contains("final pause 13 ms", (await browser.Evaluate("document.getElementById('migration-charts').textContent")).GetString());
        await Shot(browser, "migrate-done");

        var migrate = Assert.Single(_api.Received.OfType<MigrateVm>());
        Assert.Equal(("web", "h2:1"), (migrate.VmId, migrate.TargetHost));
        Assert.Contains(await Audit(), a => a is { Command: nameof(MigrateVm), Target: "web", TokenName: "dashboard-operator" });
        Assert.Empty(browser.Problems);
    }

    [ChromiumFact]
    public async Task Drains_a_host_only_once_confirmed_shows_it_draining_and_undrains_it()
    {
        var browser = await Open(Role.Admin, "dashboard-admin");
        var drain = $"{Row("host", "h2:1")} button[data-action=drain]";
        await browser.WaitFor($"document.querySelector('{drain}')", Wait, "h2:1's drain button");
        await browser.Click(drain);
        await browser.WaitFor("document.getElementById('confirm').open", Wait, "the confirmation");
        Assert.Contains("Drain host h2:1?", (await browser.Evaluate("document.getElementById('confirm-text').textContent")).GetString());
        await browser.Click("#confirm-cancel");
        await browser.WaitFor("!document.getElementById('confirm').open", Wait, "the dialog to close");

        await browser.Click(drain);
        await browser.WaitFor("document.getElementById('confirm').open", Wait, "the confirmation");
        await browser.Click("#confirm-ok");
        await browser.WaitFor($"document.querySelector('{Row("host", "h2:1")}[data-draining=true]')", Wait, "h2:1 draining");
        Assert.Contains("DRAINING", (await browser.Evaluate($"document.querySelector('{Row("host", "h2:1")}').textContent")).GetString());
        await Shot(browser, "drained");
        Assert.Equal("h2:1", Assert.Single(_api.Received.OfType<DrainHost>()).Host);

        await browser.Click($"{Row("host", "h2:1")} button[data-action=undrain]");
        await browser.WaitFor("document.getElementById('confirm').open", Wait, "the confirmation");
        await browser.Click("#confirm-ok");
        await browser.WaitFor($"document.querySelector('{Row("host", "h2:1")}[data-draining=false]')", Wait, "h2:1 undrained");
        var audit = await Audit();
        Assert.Contains(audit, a => a is { Command: nameof(DrainHost), Target: "h2:1", TokenName: "dashboard-admin" });
        Assert.Contains(audit, a => a is { Command: nameof(UndrainHost), Target: "h2:1", TokenName: "dashboard-admin" });
        Assert.Empty(browser.Problems);
    }

    [ChromiumFact]
    public async Task Shows_the_apis_refusals_to_the_user()
    {
        var browser = await Open(Role.Operator, "dashboard-operator");
        await browser.WaitFor($"document.querySelector('{Row("host", "h1:1")} button[data-action=drain]')", Wait, "the hosts");
        await browser.Click($"{Row("host", "h1:1")} button[data-action=drain]");
        await browser.WaitFor("document.getElementById('confirm').open", Wait, "the confirmation");
        await browser.Click("#confirm-ok");
        await browser.WaitFor("document.querySelector('#notices .err') && document.querySelector('#notices .err').textContent.startsWith('drain h1:1: ')", Wait, "the refusal");
        Assert.Contains("operator", (await browser.Evaluate("document.querySelector('#notices .err').textContent")).GetString());

        await browser.Click("nav button[data-view='vms']");
        await browser.WaitFor($"document.querySelector('{Row("vm", "db")} button[data-action=migrate]')", Wait, "db's migrate button");
        await browser.Click($"{Row("vm", "db")} button[data-action=migrate]");
        await browser.WaitFor("document.getElementById('confirm').open", Wait, "the confirmation");
        await browser.Click("#confirm-ok");
        await browser.WaitFor("document.getElementById('notices').textContent.includes('migrate db: target h1:1 lacks memory for db')", Wait, "the cluster's refusal");
        await Shot(browser, "refusals");
        Assert.DoesNotContain(_api.Received, m => m is DrainHost);
    }

    [ChromiumFact]
    public async Task Draws_a_hosts_graphs_from_the_history_and_lists_the_clusters_events()
    {
        var (status, _) = await GatedApi.Call(_api.Http, HttpMethod.Post, "/api/vms/web/migrate", """{"to":"h2:1"}""");
        Assert.Equal(System.Net.HttpStatusCode.Accepted, status);
        var browser = await Open(Role.Viewer, "dashboard-viewer");
        await browser.WaitFor($"document.querySelector('{Row("host", "h1:1")} button[data-action=graphs]')", Wait, "the hosts");
        await browser.Click($"{Row("host", "h1:1")} button[data-action=graphs]");
        await browser.WaitFor("document.querySelector('#graphs-body svg[data-series=\"load,vCPUs\"] :is(circle, polyline)')", Wait, "the CPU graph");
        Assert.Contains("host h1:1", (await browser.Evaluate("document.getElementById('graphs-title').textContent")).GetString());
        Assert.Equal(5, (await browser.Evaluate("document.querySelectorAll('#graphs-body svg').length")).GetInt32());
        var (_, history) = await GatedApi.Call(_api.Http, HttpMethod.Get, "/api/v1/history?host=h1:1");
        Assert.Equal(0.5, history.GetProperty("series").GetProperty("cpu")[0].GetDouble());
        var drawn = (await browser.Evaluate(
            "document.querySelectorAll('#graphs-body svg[data-series=\"load,vCPUs\"] circle[data-name=load]').length + " +
            "[...document.querySelectorAll('#graphs-body svg[data-series=\"load,vCPUs\"] polyline[data-name=load]')].reduce((n, p) => n + +p.dataset.points, 0)")).GetInt32();
        Assert.Equal((await browser.Evaluate("parseInt(document.querySelector('#graphs-body p').textContent)")).GetInt32(), drawn);
        Assert.InRange(drawn, 1, history.GetProperty("at").GetArrayLength());
        await Shot(browser, "host-graphs");

        await browser.Click("nav button[data-view='vms']");
        await browser.Click($"{Row("vm", "db")} button[data-action=graphs]");
        await browser.WaitFor("document.querySelector('#graphs-body svg[data-series=\"in use,size\"] circle[data-name=\"in use\"]')", Wait, "db's memory graph");
        Assert.Contains("VM db", (await browser.Evaluate("document.getElementById('graphs-title').textContent")).GetString());
        Assert.Equal(4, (await browser.Evaluate("document.querySelectorAll('#graphs-body svg').length")).GetInt32());

        await browser.Click("nav button[data-view='events']");
        await browser.WaitFor("document.querySelector('#events li[data-kind=migration]')", Wait, "the migration in the feed");
        Assert.Contains("web migrating h1:1 → h2:1 (auto), asked by an operator",
            (await browser.Evaluate("document.querySelector('#events li[data-kind=migration]').textContent")).GetString());
        await Shot(browser, "events");
        Assert.Empty(browser.Problems);
    }

    [ChromiumFact]
    public async Task Opens_a_vms_console_in_the_page_and_types_into_it()
    {
        var browser = await Open(Role.Operator, "dashboard-console");
        await browser.Click("nav button[data-view='vms']");
        await browser.WaitFor($"document.querySelector('{Row("vm", "web")} button[data-action=console]')", Wait, "web's console button");
        await browser.Click($"{Row("vm", "web")} button[data-action=console]");
        await browser.WaitFor("document.querySelector('#terminal .xterm-rows') && document.querySelector('#terminal .xterm-rows').textContent.includes('hello from web')", Wait, "the guest's greeting");
        await browser.WaitFor("document.getElementById('console-state').textContent.startsWith('connected')", Wait, "the socket");
        await browser.Click("#terminal .xterm-screen");
        await browser.Type("uname");
        await browser.WaitFor("document.querySelector('#terminal .xterm-rows').textContent.includes('$ uname')", Wait, "the echo");
        await Shot(browser, "console");
        Assert.Contains(_api.Received, m => m is ConsoleInput { VmId: "web" } i && Encoding.UTF8.GetString(i.Data).Contains("uname", StringComparison.Ordinal));
        Assert.Empty(browser.Problems);
    }
}
