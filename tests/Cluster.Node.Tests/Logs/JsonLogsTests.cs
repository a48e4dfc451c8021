using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Cluster.Contracts.Replies;
using Cluster.Node.Hosting;
using Cluster.Node.Logs;
using Microsoft.Extensions.Logging;

namespace Cluster.Node.Tests.Logs;

/// <summary>
/// JSON logs: an ActorSystem with the JSON logger writes only JSON lines, each with timestamp, level, logger and message,
/// and a VM actor's lines (and its children's, a migration actor's) carry the VM's id and the migration's; ASP.NET Core's
/// lines take the VM from the request path; the node's option and configuration key choose the format.
/// </summary>
public sealed class JsonLogsTests
{
    private static readonly StringWriter Captured = new();
    private static readonly TextWriter Output = TextWriter.Synchronized(Captured);

    /// <summary>The JSON logger writing to <see cref="Output"/> (Akka creates loggers by type, with no arguments).</summary>
    public sealed class CapturingLogger() : JsonAkkaLogger(new JsonLogWriter(Output));

    private static List<JsonElement> Lines()
    {
        string text;
        lock (Output)
            text = Captured.ToString();
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }

    private sealed class Chatty : ReceiveActor
    {
        public Chatty() => Receive<string>(text =>
        {
            if (text.StartsWith("child ", StringComparison.Ordinal))
                Context.ActorOf(Props.Create<Chatty>(), text["child ".Length..]).Forward("hello");
            else
                Context.GetLogger().Info("said {0} about {1}", text, new VmNotFound("other-vm"));
        });
    }

    [Fact]
    public async Task Every_akka_line_is_json_and_a_vm_actors_lines_carry_its_vm_and_migration()
    {
        var config = ConfigurationFactory.ParseString($$"""
            akka.loggers = ["{{typeof(CapturingLogger).AssemblyQualifiedName}}"]
            akka.loglevel = DEBUG
            akka.stdout-loglevel = OFF
            """);
        var system = ActorSystem.Create("json-logs", config);
        try
        {
            var vms = system.ActorOf(Props.Create<Chatty>(), "vms");
            var vm = system.ActorOf(Props.Create<Chatty>(), "elsewhere");
            vms.Tell("child web-1");
            vm.Tell("loose");
            await Task.Delay(100);
            system.ActorSelection("/user/vms/web-1").Tell("child migration-m-7");
            JsonElement[] said = [];
            for (var i = 0; i < 100 && said.Length < 3; i++)
            {
                await Task.Delay(50);
                said = [.. Lines().Where(l => l.GetProperty("message").GetString()!.StartsWith("said ", StringComparison.Ordinal))];
            }
            Assert.Equal(3, said.Length);
            var byActor = said.ToDictionary(l => l.GetProperty("source").GetString()!.Split("/user/")[1]);
            Assert.Equal(("web-1", false), (byActor["vms/web-1"].GetProperty("vm").GetString(), byActor["vms/web-1"].TryGetProperty("migration", out _)));
            Assert.Equal(("web-1", "m-7"), (byActor["vms/web-1/migration-m-7"].GetProperty("vm").GetString(),
                byActor["vms/web-1/migration-m-7"].GetProperty("migration").GetString()));
            Assert.Equal("other-vm", byActor["elsewhere"].GetProperty("vm").GetString());
            Assert.All(said, l => Assert.Equal("info", l.GetProperty("level").GetString()));
        }
        finally
        {
            await system.Terminate();
        }
        var lines = Lines();
        Assert.Contains(lines, l => l.GetProperty("level").GetString() == "debug");
        Assert.All(lines, l =>
        {
            Assert.True(l.GetProperty("timestamp").GetDateTime() > DateTime.UtcNow.AddMinutes(-5));
            Assert.False(string.IsNullOrEmpty(l.GetProperty("logger").GetString()));
            Assert.Equal(JsonValueKind.String, l.GetProperty("message").ValueKind);
        });
    }

    [Theory]
    [InlineData("akka://hypervisor/system/sharding/vm/web-3/web-3/vcpus-2", "web-3", null)]
    [InlineData("akka.ssl.tcp://hypervisor@10.0.0.1:4053/system/sharding/vm/web-3/web-3/migration-m-9", "web-3", "m-9")]
    [InlineData("akka://hypervisor/user/vms/db-1/console", "db-1", null)]
    [InlineData("akka://hypervisor/user/vms", null, null)]
    [InlineData("akka://hypervisor/user/access-gate", null, null)]
    [InlineData("remoting (akka://hypervisor)", null, null)]
    public void Finds_the_vm_and_migration_in_actor_paths_of_both_modes(string path, string? vm, string? migration) =>
        Assert.Equal(new LogSubjects(vm, migration), LogSubjects.From(path, []));

    [Fact]
    public void An_aspnet_line_takes_its_vm_from_the_request_path()
    {
        var output = new StringWriter();
        var logger = new JsonLoggerProvider(new JsonLogWriter(output)).CreateLogger("Microsoft.AspNetCore.Hosting");
        logger.LogWarning("Request {Method} {Path} failed", "GET", "/api/v1/vms/web-2/events");
        logger.LogError(new InvalidOperationException("boom"), "no request here");
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(("warning", "Microsoft.AspNetCore.Hosting", "web-2"),
            (lines[0].GetProperty("level").GetString(), lines[0].GetProperty("logger").GetString(), lines[0].GetProperty("vm").GetString()));
        Assert.Equal("Request GET /api/v1/vms/web-2/events failed", lines[0].GetProperty("message").GetString());
        Assert.False(lines[1].TryGetProperty("vm", out _));
        Assert.Contains("boom", lines[1].GetProperty("exception").GetString());
    }

    [Fact]
    public void The_option_and_the_config_key_choose_the_format()
    {
        Assert.Equal("json", NodeOptions.Parse(["--log-format", "json"], out _)!.LogFormat);
        Assert.Null(NodeOptions.Parse(["--log-format", "xml"], out var error));
        Assert.Contains("text or json", error);
        var json = NodeLogging.Apply(NodeLogging.Format("json").WithFallback(ConfigurationFactory.ParseString("akka.loglevel = INFO")));
        Assert.Equal(typeof(JsonAkkaLogger), Type.GetType(Assert.Single(json.GetStringList("akka.loggers"))));
        Assert.Equal("OFF", json.GetString("akka.stdout-loglevel"));
        var text = ConfigurationFactory.ParseString("akka.loglevel = INFO");
        Assert.Same(text, NodeLogging.Apply(text));
        Assert.Throws<ConfigurationException>(() => NodeLogging.Apply(NodeLogging.Format("xml")));
    }
}
