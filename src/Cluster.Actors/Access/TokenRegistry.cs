using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Cluster.Contracts.Access;

namespace Cluster.Actors.Access;

/// <summary>
/// The one writer of the cluster's tokens (a cluster singleton; a plain actor on a standalone node): issues, imports
/// and revokes tokens by persisting <see cref="ITokenEvent"/>s under persistence id <see cref="Name"/>, from which every
/// node's <see cref="AccessGate"/> rebuilds its <see cref="TokenBook"/>. A new token's text leaves only in the reply.
/// </summary>
public sealed class TokenRegistry : ReceivePersistentActor
{
    /// <summary>The actor (and singleton) name, also its persistence id.</summary>
    public const string Name = "tokens";

    private TokenBook _book = TokenBook.Empty;

    public TokenRegistry()
    {
        Recover<ITokenEvent>(e => _book = _book.Apply(e));
        Command<CreateToken>(c => Handle(_book.Decide(c, TokenText.New(out _), DateTime.UtcNow)));
        Command<ImportToken>(i => Handle(_book.Decide(i)));
        Command<RevokeToken>(r => Handle(_book.Decide(r, DateTime.UtcNow)));
        Command<ListTokens>(_ => Sender.Tell(new TokenList(_book.Tokens)));
    }

    public override string PersistenceId => Name;

    public static Props Props() => Akka.Actor.Props.Create(() => new TokenRegistry());

    private void Handle((object Reply, ITokenEvent? Event) decision)
    {
        var sender = Sender;
        if (decision.Event is null)
        {
            sender.Tell(decision.Reply);
            return;
        }
        Persist(decision.Event, e =>
        {
            _book = _book.Apply(e);
            sender.Tell(decision.Reply);
        });
    }

    /// <summary>A failed write reaches the asker as a failure rather than silence, and the registry goes on.</summary>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        Context.GetLogger().Error(cause, "token registry: persisting {0} failed", @event.GetType().Name);
        base.OnPersistFailure(cause, @event, sequenceNr);
    }
}
