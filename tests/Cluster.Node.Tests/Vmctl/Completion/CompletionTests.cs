using System.Diagnostics;
using Cluster.Node.Tests.TestUtils;
using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Cli.Completion;

namespace Cluster.Node.Tests.Vmctl.Completion;

/// <summary>A fact that needs bash; skipped with the reason where it is missing.</summary>
public sealed class BashFactAttribute : FactAttribute
{
    public const string Bash = "/bin/bash";

    public BashFactAttribute()
    {
        if (!File.Exists(Bash)) Skip = $"{Bash} is not installed (apt-get install bash): the completion script cannot be run";
    }
}

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CompletionTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vmctl-completion", Guid.NewGuid().ToString("N"));

    [Fact]
    public void Completes_verbs_subcommands_options_and_their_fixed_values()
    {
        Assert.Equal(["list"], Completer.Candidates(["li"]));
        Assert.Equal(["create", "list", "revoke"], Completer.Candidates(["token", ""]).Where(c => !c.StartsWith('-')).Order());
        Assert.Equal(["json", "table", "wide", "yaml"], Completer.Candidates(["list", "-o", ""]).Order());
        Assert.Equal(["admin", "operator", "viewer"], Completer.Candidates(["token", "create", "--role", ""]).Order());
        Assert.Contains("--force", Completer.Candidates(["stop", "a", "--f"]));
        Assert.DoesNotContain("__complete", Completer.Candidates(["_"]));
    }

    [Fact]
    public async Task Prints_a_script_for_bash_and_zsh_and_refuses_other_shells()
    {
        var stdout = new StringWriter();
        Assert.Equal(ExitCodes.Ok, await VmctlApp.RunAsync(["completion", "zsh"], stdout, TextWriter.Null));
        Assert.StartsWith("#compdef vmctl", stdout.ToString());
        var stderr = new StringWriter();
        Assert.Equal(ExitCodes.Usage, await VmctlApp.RunAsync(["completion", "fish"], TextWriter.Null, stderr));
        Assert.Contains("bash or zsh", stderr.ToString());
    }

    [BashFact]
    public async Task The_bash_script_fills_compreply_from_vmctl_itself()
    {
        Directory.CreateDirectory(_dir);
        var wrapper = Path.Combine(_dir, "vmctl");
        File.WriteAllText(wrapper, $"#!/bin/sh\nexec dotnet '{Executables.VmctlDll}' \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        const string script =
            """
            source <(vmctl completion bash)
            complete -p vmctl
            ask() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _vmctl; echo "${COMPREPLY[*]}"; }
            ask vmctl mig
            ask vmctl list -o ""
            ask vmctl token create --role op
            """;
        var info = new ProcessStartInfo(BashFactAttribute.Bash) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["PATH"] = $"{_dir}:{Environment.GetEnvironmentVariable("PATH")}";
        using var bash = Process.Start(info)!;
        await bash.StandardInput.WriteAsync(script);
        bash.StandardInput.Close();
        var output = await bash.StandardOutput.ReadToEndAsync();
        var error = await bash.StandardError.ReadToEndAsync();
        await bash.WaitForExitAsync();
        var lines = output.Split('\n');
        Assert.True(lines.Length >= 4, $"{output}\n{error}");
        Assert.Equal("complete -o default -F _vmctl vmctl", lines[0]);
        Assert.Equal("migrate migrations", lines[1]);
        Assert.Equal("json table wide yaml", string.Join(' ', lines[2].Split(' ').Order()));
        Assert.Equal("operator", lines[3]);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }
}
