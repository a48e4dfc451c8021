using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.SBR;
using Akka.Event;

namespace Cluster.Actors.Downing;

/// <summary>
/// <c>akka.cluster.downing-provider-class = "Cluster.Actors.Downing.LinkAwareDowningProvider, Cluster.Actors"</c>: Akka's split
/// brain resolver (its settings under <c>akka.cluster.split-brain-resolver</c>, unchanged) under a <see cref="LinkAwareDowning"/>
/// parent that downs one end of a broken link between two hosts before the resolver would down both.
/// </summary>
public sealed class LinkAwareDowningProvider : IDowningProvider
{
    private readonly SplitBrainResolverProvider _resolver;
    private readonly LinkDowningSettings _settings;

    public LinkAwareDowningProvider(ActorSystem system, Akka.Cluster.Cluster cluster)
    {
        _resolver = new SplitBrainResolverProvider(system, cluster);
        _settings = LinkDowningSettings.From(system.Settings.Config,
            system.Settings.Config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after", TimeSpan.FromSeconds(20)));
        if (_settings.Shrunk)
            system.Log.Warning("cluster-hypervisor.link-downing: decide-after + settle must be under the resolver's stable-after; " +
                               "using decide-after {0}, settle {1}", _settings.DecideAfter, _settings.Settle);
    }

    public TimeSpan DownRemovalMargin => _resolver.DownRemovalMargin;

    public Props DowningActorProps => LinkAwareDowning.Props(_resolver.DowningActorProps, _settings);
}
