using System.Text.Json;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Vmctl;

/// <summary><c>vmctl apply -f</c> and <c>vmctl get vm</c> against a real node: create, unchanged, update, refusal while
/// running, and the updated spec read back from the journal after a restart.</summary>
public sealed class ApplyEndToEndTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "vmctl-apply-e2e", Guid.NewGuid().ToString("N"));
    private readonly int _port = ProcessRunner.FreePort();
    private readonly SingleNodeVmctl _vmctl;

    public ApplyEndToEndTests() => _vmctl = new SingleNodeVmctl(_port);

    [Fact]
    public async Task Applies_a_file_then_round_trips_get_and_apply_and_the_update_survives_a_restart()
    {
        Directory.CreateDirectory(_data);
        var file = Path.Combine(_data, "a.yaml");
        await File.WriteAllTextAsync(file, "id: a\nimage: {builtin: counter}\nmemory: 4M\nlabels: {zone: x}\n");
        using (var node = await NodeProcess.StartAsync(_port, _data))
        {
            Assert.Equal("a: created\n", (await _vmctl.Ok("apply", "-f", file)).Stdout);
            Assert.Equal("a: unchanged\n", (await _vmctl.Ok("apply", "-f", file)).Stdout);

            var yaml = (await _vmctl.Ok("get", "vm", "a", "-o", "yaml")).Stdout;
            Assert.Contains("vcpus: 1\n", yaml);
            await File.WriteAllTextAsync(file, yaml.Replace("vcpus: 1\n", "vcpus: 2\n", StringComparison.Ordinal));
            Assert.Equal("a: updated\n", (await _vmctl.Ok("apply", "-f", file)).Stdout);
            Assert.Equal("a: unchanged\n", (await _vmctl.Ok("apply", "-f", file)).Stdout);

            await _vmctl.Ok("start", "a");
            await File.WriteAllTextAsync(file, yaml.Replace("vcpus: 1\n", "vcpus: 3\n", StringComparison.Ordinal));
            var refused = await _vmctl.Run("apply", "-f", file);
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("stop it before changing its spec", refused.Stderr);
            await _vmctl.Ok("stop", "a", "--force");
            node.Kill();
        }
        using (await NodeProcess.StartAsync(_port, _data))
        {
            var json = JsonDocument.Parse((await _vmctl.Ok("get", "vm", "a", "-o", "json")).Stdout).RootElement;
            Assert.Equal(2, json.GetProperty("vcpus").GetInt32());
            Assert.Equal("x", json.GetProperty("labels").GetProperty("zone").GetString());
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_data))
            Directory.Delete(_data, recursive: true);
    }
}
