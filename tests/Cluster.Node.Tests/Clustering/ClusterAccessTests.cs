using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Cluster.Contracts.Access;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Node.Tests.TestUtils;
using Cluster.Vmctl.Client;

namespace Cluster.Node.Tests.Clustering;

/// <summary>
/// Access control end to end on a real cluster node (it seeds itself): its bootstrap admin token in the data directory,
/// tokens made and revoked with vmctl, roles checked on the ClusterClient path, the audit log, and the HTTP API over
/// TLS with the node's self-signed certificate.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ClusterAccessTests : IAsyncLifetime
{
    private const string Address = "127.0.0.41";
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-access", Guid.NewGuid().ToString("N"));
    private readonly int _port = ProcessRunner.FreePort();
    private readonly int _httpPort = ProcessRunner.FreePort();
    private NodeProcess? _node;

    private string Host => $"{Address}:{_port}";

    private string DataDirectory => Path.Combine(_data, "n0");

    public async Task InitializeAsync() =>
        _node = await NodeProcess.StartAsync(ProcessRunner.DotnetExec(Executables.NodeDll,
        [
            "run", "--host", Address, "--port", $"{_port}", "--data", DataDirectory, "--backend", "emulated", "--seed", Host,
            "--journal", $"sqlite:{Path.Combine(_data, "journal.db")}", "--http", $"{Address}:{_httpPort}", .. TestCa.NodeArgs,
        ]));

    public Task DisposeAsync()
    {
        NodeTeardown.Run([_node], "access-", null, _data);
        return Task.CompletedTask;
    }

    /// <summary>vmctl through the node with the given token options (none: the admin token of its data directory, as a local operator).</summary>
    private Task<ProcessResult> Vmctl(string[] tokenOptions, params string[] args) =>
        ProcessRunner.RunAsync(Executables.VmctlDll, TimeSpan.FromSeconds(60),
            ["--node", Host, .. tokenOptions.Length == 0 ? NodeTokens.VmctlOptions(Host) : tokenOptions, "--timeout", "20", .. args]);

    [Fact]
    public async Task Roles_tokens_and_the_audit_hold_on_the_cluster_client_path_and_over_http()
    {
        var file = Path.Combine(DataDirectory, TokenText.AdminTokenFile);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Contains("new admin token written to", _node!.Output);

        // The bootstrap token works at once and reaches the registry singleton.
        await using var admin = await NodeTokens.ConnectAsync(Host, TimeSpan.FromSeconds(20));
        await ClusterVmctl.Eventually(async () => await admin.AskAsync(ListTokens.Instance) is TokenList list
            && list.Tokens.Any(t => t.Name == "bootstrap-admin"), "the bootstrap token in the cluster's registry", 60);

        var created = await Vmctl([], "token", "create", "--role", "viewer", "--name", "watcher", "--expires", "1h");
        Assert.True(created.ExitCode == 0, created.Stderr);
        var viewer = created.Stdout.Trim();
        var viewerId = TokenText.IdOf(viewer)!;

        var delete = await Vmctl(["--token", viewer], "delete", "web-1");
        Assert.Equal(6, delete.ExitCode);
        Assert.Contains("access denied (forbidden)", delete.Stderr);
        await using (var asViewer = await NodeClient.ConnectAsync(Host, TimeSpan.FromSeconds(20), viewer, TestCa.Client))
        {
            Assert.IsType<VmList>(await asViewer.AskAsync(ListVms.Instance));
            Assert.Equal(Denial.Forbidden, Assert.IsType<AccessDenied>(await asViewer.AskAsync(new CreateToken(Role.Admin, "mine", DateTime.UtcNow.AddHours(1)))).Reason);
            Assert.Equal(Denial.Forbidden, Assert.IsType<AccessDenied>(await asViewer.AskAsync(new DrainHost(Host))).Reason);
            Assert.IsType<TokenRevocation>(await admin.AskAsync(new RevokeToken(viewerId)));
            var revoked = Assert.IsType<AccessDenied>(await asViewer.AskAsync(ListVms.Instance));
            Assert.Equal(Denial.Unauthenticated, revoked.Reason);
            Assert.Contains("revoked", revoked.Message);
        }
        await using (var forged = await NodeClient.ConnectAsync(Host, TimeSpan.FromSeconds(20), TokenText.New(out _), TestCa.Client))
            Assert.Equal(Denial.Unauthenticated, Assert.IsType<AccessDenied>(await forged.AskAsync(ListVms.Instance)).Reason);

        var audit = await Vmctl([], "--json", "audit", "--limit", "20");
        Assert.True(audit.ExitCode == 0, audit.Stderr);
        var records = JsonDocument.Parse(audit.Stdout).RootElement.EnumerateArray()
            .Select(r => (r.GetProperty("tokenName").GetString(), r.GetProperty("command").GetString(), r.GetProperty("target").GetString()))
            .ToList();
        Assert.Contains(("bootstrap-admin", "CreateToken", "viewer 'watcher'"), records);
        Assert.Contains(("bootstrap-admin", "RevokeToken", viewerId), records);
        Assert.DoesNotContain(records, r => r.Item2 is "DeleteVm" or "DrainHost" or "ListVms");

        using var http = PinnedHttps.Client(Path.Combine(DataDirectory, "http-cert.pem"), new Uri($"https://{Address}:{_httpPort}"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/hosts")).StatusCode);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", NodeTokens.AdminToken(Host));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/hosts")).StatusCode);
    }

    [Fact]
    public async Task Vmctl_over_the_https_api_needs_no_client_certificate_and_the_token_decides_what_it_may_do()
    {
        // No VMCTL_TLS directory at all: the HTTPS path carries the token alone, trusting the node's self-signed certificate.
        (string, string?)[] noCertificate = [(ClientTls.Variable, Path.Combine(_data, "no-such-tls"))];
        Task<ProcessResult> Vmctl(params string[] args) => ProcessRunner.RunAsync(Executables.VmctlDll, TimeSpan.FromSeconds(60), noCertificate,
            ["--server", $"https://{Address}:{_httpPort}", "--cacert", Path.Combine(DataDirectory, "http-cert.pem"), "--timeout", "20", .. args]);

        var admin = NodeTokens.AdminToken(Host);
        ProcessResult list = null!;
        await ClusterVmctl.Eventually(async () => (list = await Vmctl("--token", admin, "nodes")).ExitCode == 0 && list.Stdout.Contains(Host),
            "vmctl nodes over https lists the node", 60);
        var created = await Vmctl("--token", admin, "token", "create", "--role", "viewer", "--name", "https-viewer", "--expires", "1h");
        Assert.True(created.ExitCode == 0, created.Stderr);
        var viewer = created.Stdout.Trim();
        var listed = await Vmctl("--token", viewer, "--json", "list");
        Assert.True(listed.ExitCode == 0, listed.Stderr);
        Assert.Equal(JsonValueKind.Array, JsonDocument.Parse(listed.Stdout).RootElement.ValueKind);
        var delete = await Vmctl("--token", viewer, "delete", "web-1");
        Assert.Equal(6, delete.ExitCode);
        Assert.Contains("access denied (forbidden)", delete.Stderr);

        // The remoting path without a client certificate cannot even connect, and an untrusted API certificate sends nothing.
        var remoting = await ProcessRunner.RunAsync(Executables.VmctlDll, TimeSpan.FromSeconds(60), noCertificate, "--node", Host, "--token", admin, "list");
        Assert.Equal(3, remoting.ExitCode);
        var untrusted = await ProcessRunner.RunAsync(Executables.VmctlDll, TimeSpan.FromSeconds(60), noCertificate,
            "--server", $"https://{Address}:{_httpPort}", "--cacert", Path.Combine(TestCa.Directory, Serialization.Tls.TlsFiles.CaCertificate), "--token", admin, "list");
        Assert.Equal(3, untrusted.ExitCode);
        Assert.Contains("certificate", untrusted.Stderr);
    }

    [Fact]
    public async Task Vmctl_console_interactive_over_the_https_api_prints_the_guest_and_a_viewer_is_refused()
    {
        (string, string?)[] noCertificate = [(ClientTls.Variable, Path.Combine(_data, "no-such-tls"))];
        Task<ProcessResult> Vmctl(string? input, params string[] args) => ProcessRunner.RunWithInputAsync(Executables.VmctlDll, TimeSpan.FromSeconds(60), noCertificate, input,
            ["--server", $"https://{Address}:{_httpPort}", "--cacert", Path.Combine(DataDirectory, "http-cert.pem"), "--timeout", "20", .. args]);

        var admin = NodeTokens.AdminToken(Host);
        ProcessResult created = null!;
        await ClusterVmctl.Eventually(async () => (created = await Vmctl(null, "--token", admin, "create", "tty-1", "--image", "counter", "--memory", "4M", "--start")).ExitCode == 0,
            "a counter VM created and started over https", 60);
        ProcessResult console = null!;
        await ClusterVmctl.Eventually(async () => (console = await Vmctl("\n", "--token", admin, "console", "tty-1", "-i", "--seconds", "2")).Stdout.Contains("count "),
            "the counter's lines over the console's WebSocket", 60);
        Assert.True(console.ExitCode == 0, console.Stderr);
        Assert.Contains("Connected to VM tty-1 (escape character is ^])", console.Stderr);

        var viewer = (await Vmctl(null, "--token", admin, "token", "create", "--role", "viewer", "--name", "tty-viewer", "--expires", "1h")).Stdout.Trim();
        var refused = await Vmctl("ls\n", "--token", viewer, "console", "tty-1", "-i");
        Assert.Equal(6, refused.ExitCode);
        Assert.Contains("access denied (forbidden)", refused.Stderr);
        Assert.DoesNotContain("count ", refused.Stdout);
    }
}
