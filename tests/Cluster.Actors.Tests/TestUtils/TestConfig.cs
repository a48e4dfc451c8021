using Akka.Configuration;
using Cluster.Actors.Hosting;

namespace Cluster.Actors.Tests.TestUtils;

/// <summary>Configuration of test ActorSystems: the shipped HOCON, a temp data directory, fast shutdown.</summary>
public static class TestConfig
{
    public static Config For(string dataDirectory, bool remote = false) =>
        HypervisorConfig.Load(HypervisorConfig.DefaultHoconDirectory, dataDirectory, ConfigurationFactory.ParseString(
            $"""
            akka.loglevel = WARNING
            akka.actor.provider = {(remote ? "remote" : "local")}
            akka.coordinated-shutdown.phases.actor-system-terminate.timeout = 2s
            akka.test.single-expect-default = 5s
            cluster-hypervisor.snapshot-every = 4
            cluster-hypervisor.console-buffer-bytes = 64
            """));

    public static string NewDataDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "cluster-actors-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
