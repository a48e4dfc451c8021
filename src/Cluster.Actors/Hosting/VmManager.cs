using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Cluster.Actors.Runtime;
using Cluster.Actors.Vms;
using Cluster.Contracts;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Registry;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Validation;

namespace Cluster.Actors.Hosting;

/// <summary>
/// The node's VM registry (one per node, at <see cref="Path"/>): validates specs, refuses duplicate ids,
/// creates one <see cref="VmActor"/> child per id and routes every <see cref="IWithVmId"/> command to it.
/// Its persisted set of ids lets <see cref="ListVms"/> work after a restart; on recovery it recreates
/// every child, and each child boots again if its journal says it was running.
/// </summary>
public sealed class VmManager : ReceivePersistentActor
{
    /// <summary>The actor name under /user.</summary>
    public const string Name = "vms";

    /// <summary>The path that clients select.</summary>
    public const string Path = "/user/" + Name;

    private readonly IGuestRuntimeFactory _factory;
    private readonly VmSpecValidator _validator;
    private readonly VmActorSettings _settings;
    private readonly HashSet<string> _ids = [];

    public VmManager(IGuestRuntimeFactory factory, VmSpecValidator validator, VmActorSettings settings)
    {
        _factory = factory;
        _validator = validator;
        _settings = settings;

        Recover<VmRegistered>(e => _ids.Add(e.VmId));
        Recover<VmUnregistered>(e => _ids.Remove(e.VmId));
        Recover<SnapshotOffer>(o => _ids.UnionWith(((RegistrySnapshot)o.Snapshot).VmIds));
        Recover<RecoveryCompleted>(_ =>
        {
            foreach (var id in _ids)
                Spawn(id);
        });

        Command<CreateVm>(Create);
        Command<ListVms>(_ => List());
        Command<IVmCommand>(c =>
        {
            var child = Context.Child(c.VmId);
            if (!child.IsNobody() && _ids.Contains(c.VmId))
                child.Forward(c);
            else
                Sender.Tell(new VmNotFound(c.VmId));
        });
        Command<Terminated>(t =>
        {
            if (!_ids.Contains(t.ActorRef.Path.Name))
                return;
            Persist(new VmUnregistered(t.ActorRef.Path.Name), e =>
            {
                _ids.Remove(e.VmId);
                MaybeSnapshot();
            });
        });
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(_ => { });
    }

    public override string PersistenceId => "vm-registry";

    public static Props Props(IGuestRuntimeFactory factory, VmSpecValidator validator, VmActorSettings settings) =>
        Akka.Actor.Props.Create(() => new VmManager(factory, validator, settings));

    private void Create(CreateVm create)
    {
        if (_validator.Validate(create.Spec) is { } failure)
        {
            Sender.Tell(failure);
            return;
        }
        if (_ids.Contains(create.VmId) || !Context.Child(create.VmId).IsNobody())
        {
            Sender.Tell(new NotAllowed(create.VmId, $"a VM with id '{create.VmId}' already exists"));
            return;
        }
        var sender = Sender;
        Persist(new VmRegistered(create.VmId), e =>
        {
            _ids.Add(e.VmId);
            MaybeSnapshot();
            Spawn(e.VmId).Tell(create, sender);
        });
    }

    private void MaybeSnapshot()
    {
        if (LastSequenceNr % _settings.SnapshotEvery == 0)
            SaveSnapshot(new RegistrySnapshot([.. _ids]));
    }

    private IActorRef Spawn(string id) =>
        Context.Watch(Context.ActorOf(VmActor.Props(id, _factory, _settings), id));

    private void List()
    {
        var sender = Sender;
        var log = Context.GetLogger();
        var timeout = TimeSpan.FromSeconds(5);
        // A child that is stopping (just deleted, its Terminated not yet handled) never answers: it is left out
        // of the list rather than failing the whole listing.
        var asks = _ids.Order(StringComparer.Ordinal)
            .Select(id => Context.Child(id))
            .Where(child => !child.IsNobody())
            .Select(child => child.Ask<IVmReply>(new GetVm(child.Path.Name), timeout).ContinueWith(t =>
            {
                if (t.IsCompletedSuccessfully) return t.Result as VmInfo;
                log.Warning("VM {0} did not answer the listing within {1}", child.Path.Name, timeout);
                return null;
            }, TaskScheduler.Default))
            .ToList();
        Task.WhenAll(asks).ContinueWith(t => new VmList([.. t.Result.OfType<VmInfo>()]), TaskScheduler.Default).PipeTo(sender);
    }
}
