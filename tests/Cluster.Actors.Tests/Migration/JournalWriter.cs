using Akka.Actor;
using Akka.Persistence;
using Cluster.Contracts.Events;

namespace Cluster.Actors.Tests.Migration;

/// <summary>Appends events to a VM's journal (<c>vm-{id}</c>) as its VM actor's writes would land, for tests that need the journal to say something.</summary>
internal static class JournalWriter
{
    /// <summary>Appends <paramref name="events"/>, in order, to the journal of VM <paramref name="vmId"/> in <paramref name="system"/>.</summary>
    public static void Append(ActorSystem system, string vmId, params VmEvent[] events)
    {
        var writer = system.ActorOf(Props.Create(() => new Writer($"vm-{vmId}")));
        foreach (var e in events)
            writer.Ask<Written>(e, TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        system.Stop(writer);
    }

    private sealed class Writer : ReceivePersistentActor
    {
        public Writer(string persistenceId)
        {
            PersistenceId = persistenceId;
            Command<VmEvent>(e =>
            {
                var replyTo = Sender;
                Persist(e, _ => replyTo.Tell(Written.Instance));
            });
        }

        public override string PersistenceId { get; }
    }

    private sealed class Written
    {
        public static Written Instance { get; } = new();
    }
}
