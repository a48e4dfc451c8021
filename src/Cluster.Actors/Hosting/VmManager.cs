using Akka.Actor;
using Akka.Event;
using Cluster.Actors.Networks;
using Cluster.Actors.Runtime;
using Cluster.Actors.Vms;
using Cluster.Contracts;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Validation;

namespace Cluster.Actors.Hosting;

/// <summary>
/// The node's VMs on a single host (one per node, at <see cref="Path"/>): validates specs, refuses duplicate ids,
/// creates one <see cref="VmActor"/> child per id and routes every <see cref="IWithVmId"/> command to it. The set of ids
/// is persisted by its <see cref="VmRegistry"/> child, so <see cref="ListVms"/> works after a restart; once the registry
/// is read the manager recreates every child, and each child boots again if its journal says it was running.
/// Journal faults stop only the actor whose write failed: a VM actor (its guest held running, see
/// <see cref="HeldGuests"/>) or the registry; this manager starts either again after a back-off and keeps routing.
/// Network commands go to the node's <see cref="NetworkRegistry"/>, which gives a new VM's NICs their MACs and addresses
/// before the VM is registered and frees them when the VM is deleted (or its registration failed).
/// </summary>
public sealed class VmManager : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    /// <summary>The actor name under /user.</summary>
    public const string Name = "vms";

    /// <summary>The path that clients select.</summary>
    public const string Path = "/user/" + Name;

    private readonly IGuestRuntimeFactory _factory;
    private readonly VmSpecValidator _validator;
    private readonly VmActorSettings _settings;
    private readonly HashSet<string> _ids = [];
    private readonly HashSet<string> _registering = [];
    private readonly HashSet<string> _stopping = [];
    private readonly HeldGuests _held = HeldGuests.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef? _networks;
    private IActorRef? _registry;
    private int _registryFaults;
    private bool _loaded;

    public VmManager(IGuestRuntimeFactory factory, VmSpecValidator validator, VmActorSettings settings, IActorRef? networks)
    {
        _networks = networks;
        _factory = factory;
        _validator = validator;
        _settings = settings;
        Loading();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    /// <param name="factory">Where guests run.</param>
    /// <param name="validator">Checks specs.</param>
    /// <param name="settings">The VM actors' settings.</param>
    /// <param name="networks">The network registry; null on a node without one (a VM with NICs is then refused).</param>
    public static Props Props(IGuestRuntimeFactory factory, VmSpecValidator validator, VmActorSettings settings, IActorRef? networks = null) =>
        Akka.Actor.Props.Create(() => new VmManager(factory, validator, settings, networks));

    protected override void PreStart() => StartRegistry();

    /// <summary>Until the registry is first read: commands wait (unless the registry failed, then they are refused).</summary>
    private void Loading()
    {
        Receive<RegistryLoaded>(l =>
        {
            Loaded(l);
            Become(Ready);
            Stash.UnstashAll();
        });
        Registry();
        ReceiveAny(m =>
        {
            if (_registryFaults == 0)
                Stash.Stash();
            else if (m is IWithVmId withId)
                Sender.Tell(new NotAllowed(withId.VmId, Unavailable()));
        });
    }

    private void Ready()
    {
        Receive<RegistryLoaded>(Loaded);
        Registry();
        Receive<CreateVm>(Create);
        Receive<UpdateVmSpec>(u => _validator.Validate(u.Spec) is not null, u => Sender.Tell(_validator.Validate(u.Spec)!));
        Receive<NicsDecided>(Assigned);
        Receive<ListVms>(_ => List());
        Receive<INetworkCommand>(c =>
        {
            if (_networks is null)
                Sender.Tell(new NetworkRefused("", "this node has no network registry"));
            else
                _networks.Forward(c);
        });
        Receive<VmActorStopping>(s =>
        {
            if (Equals(Sender, Context.Child(s.VmId)))
                _stopping.Add(s.VmId);
        });
        Receive<IVmCommand>(c =>
        {
            var child = Context.Child(c.VmId);
            var known = _ids.Contains(c.VmId);
            // A faulted VM's actor is stopping (what it is sent is lost) or not started again yet: the manager answers.
            if (known && (_stopping.Contains(c.VmId) || (child.IsNobody() && _held.IsFaulted(c.VmId))))
                Sender.Tell(new NotAllowed(c.VmId, $"VM {c.VmId} is unavailable: its journal failed; reading it again within {_held.RetryDelay(c.VmId).TotalSeconds:F1} s"));
            else if (known && !child.IsNobody())
                child.Forward(c);
            else
                Sender.Tell(new VmNotFound(c.VmId));
        });
        Receive<Terminated>(t => !Equals(t.ActorRef, _registry), t =>
        {
            var id = t.ActorRef.Path.Name;
            _stopping.Remove(id);
            if (!_ids.Contains(id))
                return;
            // A VM actor stopped by a journal fault is started again after its back-off (its guest, if any, is held).
            if (_held.IsFaulted(id))
            {
                Timers.StartSingleTimer("respawn-" + id, new Respawn(id), _held.RetryDelay(id));
                return;
            }
            _ids.Remove(id);
            _registry?.Tell(new UnregisterVm(id));
            _networks?.Tell(new ReleaseNics(id));
        });
        Receive<Respawn>(r =>
        {
            if (_ids.Contains(r.VmId) && Context.Child(r.VmId).IsNobody())
                Spawn(r.VmId);
        });
    }

    /// <summary>The registry's replies and its restarts, in every behaviour.</summary>
    private void Registry()
    {
        Receive<VmRegisteredHere>(r =>
        {
            _registering.Remove(r.Request.VmId);
            _registryFaults = 0;
            _ids.Add(r.Request.VmId);
            var child = Context.Child(r.Request.VmId);
            (child.IsNobody() ? Spawn(r.Request.VmId) : child).Tell(r.Request.Create, r.Request.ReplyTo);
        });
        Receive<VmRegisterFailed>(f =>
        {
            _registering.Remove(f.Request.VmId);
            StopUnregistered(f.Request.VmId);
            if (f.Request.Create.Spec.Nics.Count > 0)
                _networks?.Tell(new ReleaseNics(f.Request.VmId));
            f.Request.ReplyTo.Tell(new NotAllowed(f.Request.VmId, $"VM {f.Request.VmId} was not created: the journal write failed ({f.Reason})"));
        });
        Receive<Terminated>(t => Equals(t.ActorRef, _registry), _ =>
        {
            _registry = null;
            _registryFaults++;
            foreach (var id in _registering)
            {
                _log.Warning("the registry stopped while VM {0} was being created; its creator was told if the write failed", id);
                StopUnregistered(id);
            }
            _registering.Clear();
            var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, 500 * Math.Pow(2, Math.Min(_registryFaults - 1, 10))));
            _log.Warning("the VM registry stopped (journal fault {0}); starting it again in {1:F1} s", _registryFaults, delay.TotalSeconds);
            Timers.StartSingleTimer("registry", RestartRegistry.Instance, delay);
        });
        Receive<RestartRegistry>(_ => StartRegistry());
    }

    private void StartRegistry() => _registry = Context.Watch(Context.ActorOf(VmRegistry.Props(_settings.SnapshotEvery), VmRegistry.Name));

    /// <summary>The registry was read (at start, or again after a fault): every VM it names has its actor.</summary>
    private void Loaded(RegistryLoaded loaded)
    {
        _registryFaults = 0;
        foreach (var id in loaded.VmIds)
        {
            _ids.Add(id);
            if (Context.Child(id).IsNobody())
                Spawn(id);
        }
        _loaded = true;
    }

    private string Unavailable() =>
        $"the node's VM registry is unavailable: its journal failed {_registryFaults} time(s); retrying";

    private void Create(CreateVm create)
    {
        if (_validator.Validate(create.Spec) is { } failure)
        {
            Sender.Tell(failure);
            return;
        }
        if (_ids.Contains(create.VmId) || _registering.Contains(create.VmId) || !Context.Child(create.VmId).IsNobody())
        {
            Sender.Tell(new NotAllowed(create.VmId, $"a VM with id '{create.VmId}' already exists"));
            return;
        }
        if (_registry is null || !_loaded)
        {
            Sender.Tell(new NotAllowed(create.VmId, Unavailable()));
            return;
        }
        _registering.Add(create.VmId);
        if (create.Spec.Nics.Count == 0)
        {
            Register(create, Sender);
            return;
        }
        if (_networks is null)
        {
            _registering.Remove(create.VmId);
            Sender.Tell(new NotAllowed(create.VmId, "this node has no network registry: a VM with NICs cannot be created"));
            return;
        }
        var replyTo = Sender;
        _networks.Ask<object>(new AssignNics(create.VmId, create.Spec.Nics), TimeSpan.FromSeconds(10))
            .ContinueWith(t => new NicsDecided(create, replyTo,
                t.IsCompletedSuccessfully ? t.Result : new NotAllowed(create.VmId, "the network registry did not answer within 10 s")), TaskScheduler.Default)
            .PipeTo(Self);
    }

    /// <summary>The registry gave the new VM's NICs their MACs and addresses (recorded in its spec from here on), or refused.</summary>
    private void Assigned(NicsDecided decided)
    {
        var id = decided.Create.VmId;
        if (decided.Reply is not NicsAssigned assigned)
        {
            _registering.Remove(id);
            decided.ReplyTo.Tell(decided.Reply);
            return;
        }
        var create = new CreateVm(decided.Create.Spec with { Nics = assigned.Nics });
        if (_registry is null)
        {
            _registering.Remove(id);
            _networks!.Tell(new ReleaseNics(id));
            decided.ReplyTo.Tell(new NotAllowed(id, Unavailable()));
            return;
        }
        Register(create, decided.ReplyTo);
    }

    /// <summary>
    /// Has the registry record the new VM's id and starts its actor meanwhile: the actor's recovery (reading the journal of an
    /// id that may have had a VM before) runs beside the registry's write instead of after it. It gets the create once the id
    /// is written; if the write fails it is stopped, having written nothing.
    /// </summary>
    private void Register(CreateVm create, IActorRef replyTo)
    {
        Spawn(create.VmId);
        _registry!.Tell(new RegisterVm(create.VmId, create, replyTo));
    }

    /// <summary>Stops the actor started for a VM whose registration failed (it was never given the create).</summary>
    private void StopUnregistered(string id)
    {
        if (Context.Child(id) is var child && !child.IsNobody())
            Context.Stop(child);
    }

    private IActorRef Spawn(string id) =>
        Context.Watch(Context.ActorOf(VmActor.Props(id, _factory, _settings), id));

    private void List()
    {
        var sender = Sender;
        var log = _log;
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

    private sealed record Respawn(string VmId);

    private sealed record NicsDecided(CreateVm Create, IActorRef ReplyTo, object Reply);

    private sealed class RestartRegistry
    {
        public static RestartRegistry Instance { get; } = new();
    }
}
