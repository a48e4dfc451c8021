using System.Text.Json;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>The real `vmctl` against one node on loopback: run, expect success, list as JSON, wait for a condition.</summary>
internal sealed class SingleNodeVmctl(int port, int timeoutSeconds = 10)
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    public Task<ProcessResult> Run(params string[] args) =>
        ProcessRunner.RunAsync(Executables.VmctlDll, CommandTimeout, ["--node", $"127.0.0.1:{port}", .. NodeTokens.VmctlOptions($"127.0.0.1:{port}"), "--timeout", $"{timeoutSeconds}", .. args]);

    public async Task<ProcessResult> Ok(params string[] args)
    {
        var result = await Run(args);
        Assert.True(result.ExitCode == 0, $"vmctl {string.Join(' ', args)} -> {result.ExitCode}\n{result.Stdout}\n{result.Stderr}");
        return result;
    }

    public async Task<Dictionary<string, JsonElement>> ListAsync()
    {
        var json = (await Ok("list", "--json")).Stdout;
        return JsonDocument.Parse(json).RootElement.EnumerateArray().ToDictionary(v => v.GetProperty("id").GetString()!);
    }

    public static async Task Eventually(Func<Task<bool>> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(200);
        }
    }
}
