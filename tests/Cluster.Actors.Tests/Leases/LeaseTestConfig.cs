using Akka.Configuration;
using Cluster.Actors.Tests.TestUtils;

namespace Cluster.Actors.Tests.Leases;

/// <summary>Test systems with a short host lease (ttl 1.5 s, renewed every 300 ms, 100 ms drift margin) on their SQLite journal.</summary>
internal static class LeaseTestConfig
{
    public static readonly TimeSpan Ttl = TimeSpan.FromMilliseconds(1500);

    public static Config For(string dataDirectory, bool cluster = false) =>
        ConfigurationFactory.ParseString(
            $"""
            cluster-hypervisor.lease {"{"} enabled = on, ttl = {Ttl.TotalMilliseconds}ms, renew-every = 300ms, drift-margin = 100ms {"}"}
            {(cluster ? "akka.actor.provider = cluster\nakka.remote.dot-netty.tcp.hostname = \"127.0.0.1\"\nakka.remote.dot-netty.tcp.port = 0" : "")}
            """).WithFallback(TestConfig.For(dataDirectory));
}
