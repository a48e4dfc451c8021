using System.Text.Json;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Hosting;

/// <summary>The real `cluster-node run` process driven by the real `vmctl`, over Akka.Remote on loopback.</summary>
public sealed class NodeEndToEndTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cluster-node-e2e", Guid.NewGuid().ToString("N"));
    private readonly int _port;
    private readonly SingleNodeVmctl _vmctl;

    public NodeEndToEndTests()
    {
        _port = ProcessRunner.FreePort();
        _vmctl = new SingleNodeVmctl(_port);
    }

    private Task<ProcessResult> Vmctl(params string[] args) => _vmctl.Run(args);

    private Task<ProcessResult> Ok(params string[] args) => _vmctl.Ok(args);

    private Task<Dictionary<string, JsonElement>> ListAsync() => _vmctl.ListAsync();

    private static Task Eventually(Func<Task<bool>> condition, string what) => SingleNodeVmctl.Eventually(condition, what);

    [Fact]
    public async Task Vmctl_drives_a_node_and_a_running_vm_boots_again_after_the_node_restarts()
    {
        using (var node = await NodeProcess.StartAsync(_port, _data))
        {
            await Ok("create", "h", "--image", "hello", "--memory", "4M", "--arg", "e2e", "--start");
            await Ok("create", "c", "--image", "counter", "--memory", "4M", "--restart", "on-failure", "--start");
            await Ok("create", "d", "--image", "counter", "--memory", "4M", "--start");
            await Ok("stop", "d");

            Assert.Equal(1, (await Vmctl("create", "c", "--image", "hello")).ExitCode);
            Assert.Equal(1, (await Vmctl("create", "x", "--image", "hello", "--memory", "0")).ExitCode);
            Assert.Equal(1, (await Vmctl("start", "ghost")).ExitCode);
            Assert.Equal(2, (await Vmctl("frobnicate")).ExitCode);

            await Eventually(async () => (await Ok("console", "h")).Stdout.Contains("argv[0]=e2e\n", StringComparison.Ordinal), "hello's greeting");
            Assert.StartsWith("Hello from the guest!", (await Ok("console", "h")).Stdout);
            Assert.Contains("count ", (await Ok("console", "c", "--follow", "--seconds", "1")).Stdout);

            await Eventually(async () => (await ListAsync())["h"].GetProperty("status").GetString() == "Stopped", "hello to exit");
            await Ok("delete", "h");
            var list = await ListAsync();
            Assert.Equal(["c", "d"], list.Keys.Order());
            Assert.Equal("Running", list["c"].GetProperty("status").GetString());
            Assert.Contains("VmStarted", (await Ok("events", "c")).Stdout);
            node.Kill();
        }

        Assert.Equal(3, (await Vmctl("--timeout", "1", "list")).ExitCode);

        using (await NodeProcess.StartAsync(_port, _data))
        {
            var list = await ListAsync();
            Assert.Equal(["c", "d"], list.Keys.Order());
            Assert.Equal("Stopped", list["d"].GetProperty("status").GetString());
            await Eventually(async () => (await ListAsync())["c"].GetProperty("reason").GetString() == "cold boot: the journal says it was running (node restart or host failover)",
                "c to boot again");
            Assert.Equal("Running", (await ListAsync())["c"].GetProperty("status").GetString());
            await Eventually(async () => (await Ok("console", "c", "--bytes", "64")).Stdout.Contains("count ", StringComparison.Ordinal),
                "c's console after the restart");
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_data))
            Directory.Delete(_data, recursive: true);
    }
}
