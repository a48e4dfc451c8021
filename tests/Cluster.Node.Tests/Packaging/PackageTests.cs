using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Cluster.Node.Tests.TestUtils;
using Xunit.Abstractions;

namespace Cluster.Node.Tests.Packaging;

/// <summary>
/// The Debian package of scripts/package, installed into a scratch root (<see cref="PackageInstall"/>): its layout, its
/// systemd unit, and a node started from the unit's ExecStart line that runs a guest in the packaged VMM worker.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class PackageTests(PackageInstall package, ITestOutputHelper output) : IClassFixture<PackageInstall>
{
    private const string Unit = "/lib/systemd/system/cluster-node.service";

    [PackagingFact]
    public void Installs_its_programs_configuration_and_state_directory_into_the_root()
    {
        output.WriteLine($"scripts/package --framework-dependent took {package.BuildTime.TotalSeconds:F0} s");
        foreach (var link in new[] { "/usr/bin/cluster-node", "/usr/bin/vmctl" })
        {
            var target = new FileInfo(package.InRoot(link)).ResolveLinkTarget(returnFinalTarget: true);
            Assert.NotNull(target);
            Assert.Equal(package.InRoot("/usr/lib/cluster-hypervisor/" + Path.GetFileName(link)), target.FullName);
        }
        foreach (var file in new[] { "vmm-worker/vmm-worker", "vmm-worker/vmm-worker.dll", "hocon/base.conf", "hocon/cluster.conf", "guests/counter.elf" })
            Assert.True(File.Exists(package.InRoot("/usr/lib/cluster-hypervisor/" + file)), file);
        Assert.Equal(["/etc/cluster-hypervisor/node.conf", "/etc/cluster-hypervisor/cluster-node.env"],
            File.ReadAllLines(Path.Combine(package.ControlDirectory, "conffiles")));
        foreach (var conffile in File.ReadAllLines(Path.Combine(package.ControlDirectory, "conffiles")))
            Assert.True(File.Exists(package.InRoot(conffile)), conffile);
        Assert.True(Directory.Exists(package.DataDirectory), "postinst made no state directory");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(package.DataDirectory));
    }

    [PackagingFact]
    public void Carries_the_version_of_Directory_Build_props_which_the_node_prints()
    {
        var props = File.ReadAllText(Path.Combine(PackageInstall.RepositoryRoot, "Directory.Build.props"));
        var version = VersionElement().Match(props).Groups[1].Value;
        Assert.Contains($"Version: {version}\n", File.ReadAllText(Path.Combine(package.ControlDirectory, "control")), StringComparison.Ordinal);
        Assert.EndsWith($"_{version}_amd64.deb", package.Deb, StringComparison.Ordinal);
        var printed = PackageInstall.Run(package.InRoot("/usr/bin/cluster-node"), TimeSpan.FromMinutes(1), "--version");
        Assert.Equal(0, printed.ExitCode);
        Assert.StartsWith($"cluster-node {version}", printed.Stdout, StringComparison.Ordinal);
    }

    [SystemdAnalyzeFact]
    public void Its_unit_passes_systemd_analyze_verify_and_stops_the_node_alone()
    {
        var service = UnitFile.Parse(File.ReadAllText(package.InRoot(Unit)))["Service"];
        Assert.Equal("root", service["User"]);
        Assert.Equal("on-failure", service["Restart"]);
        // Stopping or upgrading the node must not kill the guests' VMM workers, which live in the unit's cgroup.
        Assert.Equal("process", service["KillMode"]);
        Assert.Equal("yes", service["Delegate"]);
        // systemd-analyze verify --root= wants the whole of systemd's units in the root (sysinit.target): verify a copy
        // whose absolute paths point into the scratch root instead, so that it checks that ExecStart is executable there.
        var dir = Path.Combine(package.Root, "..", "verify");
        Directory.CreateDirectory(dir);
        var copy = Path.Combine(dir, "cluster-node.service");
        File.WriteAllText(copy, InstalledPaths().Replace(File.ReadAllText(package.InRoot(Unit)), m => package.InRoot(m.Value)));
        var verify = PackageInstall.Run(SystemdAnalyzeFactAttribute.Tool, TimeSpan.FromMinutes(1), "verify", "--man=no", copy);
        // verify exits 0 after warnings about settings it ignores ("Failed to parse ..., ignoring"): any output is a failure.
        Assert.True(verify.ExitCode == 0 && verify.Stdout.Length + verify.Stderr.Length == 0,
            $"systemd-analyze verify exited {verify.ExitCode}:\n{verify.Stdout}{verify.Stderr}");
    }

    [PackagingFact]
    public async Task Runs_the_node_from_the_units_ExecStart_line_with_guests_in_the_packaged_worker()
    {
        var service = UnitFile.Parse(File.ReadAllText(package.InRoot(Unit)))["Service"];
        var environment = UnitFile.ParseEnvironment(File.ReadAllText(package.InRoot(service["EnvironmentFile"])));
        var command = UnitFile.Expand(service["ExecStart"], environment).Select(w => InstalledPaths().Replace(w, m => package.InRoot(m.Value))).ToList();
        Assert.Equal(package.InRoot("/usr/bin/cluster-node"), command[0]);
        Assert.Contains(package.DataDirectory, command);
        var port = ProcessRunner.FreePort();
        var http = $"127.0.0.1:{ProcessRunner.FreePort()}";
        // The shipped options (a standalone node on loopback, its HTTPS API on 127.0.0.1:8080) with free ports instead:
        // a later option wins over an earlier one.
        var info = new System.Diagnostics.ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = InstalledPaths().Replace(service["WorkingDirectory"], m => package.InRoot(m.Value)),
        };
        foreach (var word in command.Skip(1).Concat(["--port", $"{port}", "--http", http]))
            info.ArgumentList.Add(word);
        using var node = await NodeProcess.StartAsync(info);
        try
        {
            using var api = PinnedHttps.Client(Path.Combine(package.DataDirectory, "http-cert.pem"), new Uri($"https://{http}"));
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
                File.ReadAllText(Path.Combine(package.DataDirectory, "admin.token")).Trim());
            Assert.Equal(HttpStatusCode.OK, (await api.GetAsync(new Uri("/api/vms", UriKind.Relative))).StatusCode);

            var vmctl = PackageInstall.Run(package.InRoot("/usr/bin/vmctl"), TimeSpan.FromMinutes(2),
                new Dictionary<string, string> { ["VMCTL_TLS"] = Path.Combine(package.DataDirectory, "tls") },
                "--node", $"127.0.0.1:{port}", "--data", package.DataDirectory, "--timeout", "60",
                "create", "pkg-1", "--image", "counter", "--memory", "16M", "--start");
            Assert.True(vmctl.ExitCode == 0, $"vmctl exited {vmctl.ExitCode}:\n{vmctl.Stdout}{vmctl.Stderr}\nnode:\n{node.Output}");
            output.WriteLine(vmctl.Stdout);
            var worker = await WorkerOf("pkg-1", TimeSpan.FromSeconds(30), node);
            // The NativeAOT worker where the package carries it (scripts/package builds it where clang or gcc is), else the
            // ReadyToRun one's apphost: what WorkerPrograms picks first.
            var aot = package.InRoot("/usr/lib/cluster-hypervisor/vmm-worker-aot/vmm-worker");
            Assert.Equal(File.Exists(aot) ? aot : package.InRoot("/usr/lib/cluster-hypervisor/vmm-worker/vmm-worker"),
                new FileInfo($"/proc/{worker}/exe").ResolveLinkTarget(returnFinalTarget: false)?.FullName);

            // What systemd does on stop with KillMode=process: SIGTERM to the node alone. A standalone node leaves its
            // guests running (detach-on-shutdown = auto) for the next incarnation.
            node.Terminate(TimeSpan.FromSeconds(30));
            Assert.Equal(0, node.ExitCode);
            Assert.True(WorkerRecords.Alive(worker), "the VMM worker did not outlive its node");
        }
        finally
        {
            WorkerRecords.KillAll(package.DataDirectory);
        }
    }

    /// <summary>The pid of the worker running <paramref name="vm"/>, once its record names the VM.</summary>
    private async Task<int> WorkerOf(string vm, TimeSpan timeout, NodeProcess node)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            if (WorkerRecords.Of(package.DataDirectory).TryGetValue(vm, out var pid))
                return pid;
            if (clock.Elapsed > timeout)
            {
                var records = string.Join("\n", Directory.EnumerateFiles(Path.Combine(package.DataDirectory, "run"))
                    .Select(f => $"{f}: {(f.EndsWith(".sock", StringComparison.Ordinal) ? "" : File.ReadAllText(f))}"));
                throw new TimeoutException($"no worker record names {vm} within {timeout}:\n{records}\nnode:\n{node.Output}");
            }
            await Task.Delay(200);
        }
    }

    /// <summary>An absolute path of the installed system (the unit's programs, configuration and state directory).</summary>
    [GeneratedRegex(@"(?<![\w.])/(usr|etc|var/lib)/[^\s]*")]
    private static partial Regex InstalledPaths();

    [GeneratedRegex("<Version>([^<]+)</Version>")]
    private static partial Regex VersionElement();
}
