using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Cluster.Contracts.Networks;

namespace Cluster.Actors.Networks;

/// <summary>
/// The one writer of the cluster's networks (a cluster singleton on the nodes with role host; a plain actor on a
/// standalone node): decides with its <see cref="NetworkBook"/> and persists <see cref="INetworkEvent"/>s under
/// persistence id <see cref="Name"/>, one command at a time, so two creates never take one subnet or address.
/// The control entry point forwards clients' network commands here and asks it for a new VM's NICs
/// (<see cref="AssignNics"/>) and to free a deleted VM's (<see cref="ReleaseNics"/>).
/// </summary>
public sealed class NetworkRegistry : ReceivePersistentActor
{
    /// <summary>The actor (and singleton) name, also its persistence id.</summary>
    public const string Name = "networks";

    private NetworkBook _book = NetworkBook.Empty;

    public NetworkRegistry()
    {
        Recover<INetworkEvent>(e => _book = _book.Apply(e));
        Command<CreateNetwork>(c => Handle(_book.Decide(c)));
        Command<DeleteNetwork>(d => Handle(_book.Decide(d)));
        Command<AssignNics>(a => Handle(_book.Decide(a)));
        Command<ReleaseNics>(r => Handle(_book.Decide(r)));
        Command<ListNetworks>(_ => Sender.Tell(new NetworkList(_book.Networks)));
        Command<GetNetwork>(g => Sender.Tell(_book.Find(g.Name) as object ?? new NetworkNotFound(g.Name ?? "")));
    }

    public override string PersistenceId => Name;

    public static Props Props() => Akka.Actor.Props.Create(() => new NetworkRegistry());

    private void Handle((object Reply, IReadOnlyList<INetworkEvent> Events) decision)
    {
        var sender = Sender;
        if (decision.Events.Count == 0)
        {
            sender.Tell(decision.Reply);
            return;
        }
        var left = decision.Events.Count;
        PersistAll(decision.Events, e =>
        {
            _book = _book.Apply(e);
            if (--left == 0)
                sender.Tell(decision.Reply);
        });
    }

    /// <summary>A failed write is logged; the asker's ask times out and the registry starts again from its journal.</summary>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        Context.GetLogger().Error(cause, "network registry: persisting {0} failed", @event.GetType().Name);
        base.OnPersistFailure(cause, @event, sequenceNr);
    }
}
