using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cluster.Contracts.Access;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Http;

/// <summary>
/// The dashboard's routes without a browser: every file the page loads is served from the assembly with its type and
/// the page's Content-Security-Policy; the history and the event feed need a token the gate accepts, check their
/// query, and answer with the sampler's figures from the (canned) cluster.
/// </summary>
public sealed partial class DashboardEndpointsTests : IAsyncLifetime
{
    private GatedApi _api = null!;

    public async Task InitializeAsync() => _api = await GatedApi.StartAsync(new DashboardCluster().Answer);

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [GeneratedRegex("(?:src|href)=\"(/ui/[^\"]+)\"")]
    private static partial Regex PageReference();

    [GeneratedRegex("from \"\\./([a-z]+\\.js)\"")]
    private static partial Regex ModuleImport();

    [Fact]
    public async Task Serves_every_file_the_page_loads_from_the_assembly_with_its_type_and_policy_and_nothing_else()
    {
        using var anonymous = _api.Client(null);
        using var page = await anonymous.GetAsync("/");
        Assert.Equal("text/html; charset=utf-8", page.Content.Headers.ContentType!.ToString());
        Assert.StartsWith("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        var files = PageReference().Matches(await page.Content.ReadAsStringAsync()).Select(m => m.Groups[1].Value).ToList();
        Assert.Contains("/ui/vendor/xterm/xterm.js", files);
        var modules = new Queue<string>(files.Where(f => f.StartsWith("/ui/js/", StringComparison.Ordinal)));
        var seen = new HashSet<string>();
        while (modules.TryDequeue(out var module))
        {
            if (!seen.Add(module))
                continue;
            var text = await anonymous.GetStringAsync(module);
            foreach (Match m in ModuleImport().Matches(text))
                modules.Enqueue("/ui/js/" + m.Groups[1].Value);
        }
        Assert.Equal(["actions.js", "api.js", "charts.js", "console.js", "dashboard.js", "dom.js", "history.js", "migrations.js", "views.js"],
            seen.Select(Path.GetFileName).Order());
        foreach (var file in files.Concat(seen))
        {
            using var response = await anonymous.GetAsync(file);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(file.EndsWith(".css", StringComparison.Ordinal) ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8",
                response.Content.Headers.ContentType!.ToString());
        }
        Assert.Contains("The xterm.js authors", await anonymous.GetStringAsync("/ui/vendor/xterm/LICENSE"));
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/ui/js/missing.js")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/ui/../Cluster.Node.Http.Dashboard.cs")).StatusCode);
    }

    [Fact]
    public async Task The_history_needs_a_token_the_gate_accepts_and_one_host_or_one_vm()
    {
        using var anonymous = _api.Client(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/history?host=h1:1")).StatusCode);
        using var forged = _api.Client("cht_forged_token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.GetAsync("/api/v1/history?host=h1:1")).StatusCode);

        foreach (var (query, field) in new[] { ("host=h1:1&vm=web", "host"), ("", "host"), ("host=nohost", "host"), ("vm=Bad_Id!", "id") })
        {
            var (status, body) = await GatedApi.Call(_api.Http, HttpMethod.Get, "/api/v1/history?" + query);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal(field, body.GetProperty("field").GetString());
        }
        var (badAfter, _) = await GatedApi.Call(_api.Http, HttpMethod.Get, "/api/v1/events?after=-1");
        Assert.Equal(HttpStatusCode.BadRequest, badAfter);
    }

    [Fact]
    public async Task Answers_the_sampled_series_of_a_host_and_a_vm_and_the_event_feed()
    {
        using var viewer = _api.Client(await _api.NewToken(Role.Viewer, "reader"));
        JsonElement host = default;
        for (var tries = 0; tries < 50; tries++)
        {
            (_, host) = await GatedApi.Call(viewer, HttpMethod.Get, "/api/v1/history?host=h1:1");
            if (host.GetProperty("at").GetArrayLength() > 0)
                break;
            await Task.Delay(100);
        }
        Assert.Equal("h1:1", host.GetProperty("host").GetString());
        Assert.Equal(10, host.GetProperty("intervalSeconds").GetDouble());
        Assert.Equal(["cpu", "diskRead", "diskWrite", "memoryCapacity", "memoryInUse", "netRx", "netTx", "runningVms", "vcpus", "vms"], host.GetProperty("series").EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(1, host.GetProperty("at").GetArrayLength());
        Assert.Equal(0.5, host.GetProperty("series").GetProperty("cpu")[0].GetDouble());
        Assert.Equal(2, host.GetProperty("series").GetProperty("vms")[0].GetDouble());

        var (_, vm) = await GatedApi.Call(viewer, HttpMethod.Get, "/api/v1/history?vm=db");
        Assert.Equal(128 << 20, vm.GetProperty("series").GetProperty("memory")[0].GetDouble());
        Assert.Equal(32 << 20, vm.GetProperty("series").GetProperty("memoryInUse")[0].GetDouble());
        var (_, unknown) = await GatedApi.Call(viewer, HttpMethod.Get, "/api/v1/history?vm=nobody");
        Assert.Equal(0, unknown.GetProperty("at").GetArrayLength());

        var (status, feed) = await GatedApi.Call(viewer, HttpMethod.Get, "/api/v1/events?after=0");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(0, feed.GetProperty("events").GetArrayLength());
        Assert.Equal(0, feed.GetProperty("last").GetInt64());
    }
}
