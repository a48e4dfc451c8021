using System.Text.Json;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>
/// The real vmctl against the hosts of a test cluster: host <c>i</c> is reached at <c>host(i)</c>.
/// Shared by the multi-process cluster tests.
/// </summary>
internal sealed class ClusterVmctl(Func<int, string> host)
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Runs vmctl through host <paramref name="via"/>, whatever its exit code.</summary>
    public Task<ProcessResult> Run(int via, params string[] args) =>
        ProcessRunner.RunAsync(Executables.VmctlDll, CommandTimeout, ["--node", host(via), .. NodeTokens.VmctlOptions(host(via)), "--timeout", "20", .. args]);

    /// <summary>Runs vmctl and asserts it succeeded.</summary>
    public async Task<ProcessResult> Ok(int via, params string[] args)
    {
        var result = await Run(via, args);
        Assert.True(result.ExitCode == 0, $"vmctl {string.Join(' ', args)} -> {result.ExitCode}\n{result.Stdout}\n{result.Stderr}");
        return result;
    }

    /// <summary>The cluster's VMs as vmctl --json list prints them.</summary>
    public async Task<List<JsonElement>> ListAsync(int via) =>
        [.. JsonDocument.Parse((await Ok(via, "--json", "list")).Stdout).RootElement.EnumerateArray()];

    /// <summary>How many hosts host <paramref name="via"/> lists as up; 0 when it does not answer.</summary>
    public async Task<int> MembersAsync(int via)
    {
        var r = await Run(via, "--json", "nodes");
        if (r.ExitCode != 0)
            return 0;
        try { return JsonDocument.Parse(r.Stdout).RootElement.GetArrayLength(); }
        catch (JsonException) { return 0; }
    }

    /// <summary>Polls <paramref name="condition"/> every 500 ms, failing with <paramref name="what"/> after <paramref name="seconds"/>.</summary>
    public static async Task Eventually(Func<Task<bool>> condition, string what, int seconds = 90)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(500);
        }
    }
}
