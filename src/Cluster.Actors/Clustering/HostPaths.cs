using Akka.Actor;

namespace Cluster.Actors.Clustering;

/// <summary>Paths of actors on another host of this cluster, in the protocol this system speaks (akka.ssl.tcp over TLS).</summary>
public static class HostPaths
{
    /// <summary>The path of <paramref name="path"/> (for example /user/host-agent) on <paramref name="host"/> ("address:port").</summary>
    public static string Of(ActorSystem system, string host, string path) =>
        $"{((ExtendedActorSystem)system).Provider.DefaultAddress.Protocol}://{system.Name}@{host}{path}";
}
