using System.Diagnostics;
using System.Text.Json.Nodes;
using Cluster.Contracts.Access;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Vmctl.Wire;

/// <summary>
/// A vmctl without the Akka.Remote client (the NativeAOT build's switch, Cluster.Vmctl.Remoting.IsSupported=false, set
/// here in a copy of vmctl.dll's runtimeconfig) hands a --node command to its companion by execv: same arguments, the
/// companion's output and exit code; and says what is missing when there is no companion. HTTPS commands stay its own.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RemoteCompanionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vmctl-companion").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<(ProcessResult Result, int Pid)> RunWithoutRemoting(string? companion, params string[] args)
    {
        var dll = Executables.VmctlDll;
        var config = JsonNode.Parse(await File.ReadAllTextAsync(Path.ChangeExtension(dll, ".runtimeconfig.json")))!;
        config["runtimeOptions"]!["configProperties"]!["Cluster.Vmctl.Remoting.IsSupported"] = false;
        var runtimeConfig = Path.Combine(_dir, "vmctl.runtimeconfig.json");
        await File.WriteAllTextAsync(runtimeConfig, config.ToJsonString());
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["exec", "--runtimeconfig", runtimeConfig, dll, .. args])
            info.ArgumentList.Add(a);
        info.Environment["VMCTL_REMOTE"] = companion ?? Path.Combine(_dir, "no-such-companion");
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return (new ProcessResult(process.ExitCode, await stdout, await stderr), process.Id);
    }

    [Fact]
    public async Task A_node_command_becomes_the_companion_with_the_same_arguments_and_exit_code()
    {
        var companion = Path.Combine(_dir, "vmctl-remote");
        var seen = Path.Combine(_dir, "seen");
        await File.WriteAllTextAsync(companion, $"#!/bin/sh\necho \"pid $$\" > '{seen}'\nfor a in \"$@\"; do echo \"arg:$a\"; done\nexit 7\n");
        File.SetUnixFileMode(companion, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var token = TokenText.New(out _);
        var (result, pid) = await RunWithoutRemoting(companion, "--node", "10.9.8.7:4053", "--token", token, "show", "web 1", "-o", "json");
        Assert.True(result.ExitCode == 7, $"exit {result.ExitCode}\n{result.Stdout}\n{result.Stderr}");
        Assert.Equal(["--node", "10.9.8.7:4053", "--token", token, "show", "web 1", "-o", "json"],
            result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l["arg:".Length..]));
        // execv: the companion is the same process (the same pid), not a child.
        Assert.Equal($"pid {pid}", (await File.ReadAllTextAsync(seen)).Trim());
    }

    [Fact]
    public async Task Without_a_companion_a_node_command_says_what_is_missing_and_https_needs_none()
    {
        var token = TokenText.New(out _);
        var (result, _) = await RunWithoutRemoting(null, "--node", "10.9.8.7:4053", "--token", token, "list");
        Assert.Equal(3, result.ExitCode);
        Assert.Contains("needs the companion", result.Stderr);
        Assert.Contains("no-such-companion", result.Stderr);

        // --server does not go near the companion: nothing listens on port 1, so it is unreachable, by itself.
        var (https, _) = await RunWithoutRemoting(null, "--server", "https://127.0.0.1:1", "--token", token, "--timeout", "5", "list");
        Assert.Equal(3, https.ExitCode);
        Assert.DoesNotContain("companion", https.Stderr);
        Assert.Contains("cannot reach", https.Stderr);
    }
}
