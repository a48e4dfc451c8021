using Akka.Actor;
using Akka.Event;
using Cluster.Actors.Clustering;
using Cluster.Actors.Devices;
using Cluster.Actors.Disks;
using Cluster.Actors.Migration;
using Cluster.Actors.Runtime;
using Cluster.Contracts.Vms;
using Cluster.Vmm;

namespace Cluster.Actors.Vms;

/// <summary>
/// Owns one booted guest (its vCPU threads, through <see cref="IGuestRuntime"/>) for the time of one
/// boot. The vCPUs never run on a dispatcher thread: this actor drives them by messages (pause, resume,
/// stop, save state) and turns the guest's exit (clean exit, shutdown/triple fault, internal error) into a
/// <see cref="GuestExited"/> for its VM actor, then stops. A new boot gets a new supervisor.
/// A supervisor may also adopt a guest that arrived running by live migration (a <see cref="ParkedGuest"/>):
/// no boot, the vCPUs go on where they are. For a migration away it lends its machine
/// (<see cref="LendMachine"/>) and, once ownership moved, is released (<see cref="ReleaseGuest"/>): the
/// source machine's stop is then not a guest exit.
/// Before a boot it checks the VM's disks on this host (<see cref="DiskIdentity.Bind"/>): each image exists and carries the
/// identity the VM recorded; on the VM's first start it tells its VM actor the identities it found (<see cref="DisksBound"/>).
/// </summary>
public sealed class VcpuSupervisor : ReceiveActor
{
    private readonly VmSpec _spec;
    private readonly IGuestRuntimeFactory _factory;
    private readonly IActorRef _console;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly VmHosting? _hosting;
    private readonly ParkedGuest? _adopted;
    private IGuestRuntime? _guest;
    private bool _running;
    private bool _released;
    private Task? _lentUntil;

    public VcpuSupervisor(VmSpec spec, IGuestRuntimeFactory factory, IActorRef console, VmHosting? hosting = null, ParkedGuest? adopted = null)
    {
        _spec = spec;
        _factory = factory;
        _console = console;
        _hosting = hosting;
        _adopted = adopted;
        Receive<PauseVcpus>(_ =>
        {
            Try("pause", () => _guest?.Pause());
            MarkEnded();
        });
        Receive<ResumeVcpus>(_ =>
        {
            MarkRunning();
            Try("resume", () => _guest?.Resume());
        });
        Receive<SaveVcpuState>(_ =>
        {
            try
            {
                Sender.Tell(_guest is null
                    ? new Status.Failure(new VmmException("no guest to save", "machine-save"))
                    : new VcpuStateSaved(_guest.SaveState()));
            }
            catch (VmmException e)
            {
                Sender.Tell(new Status.Failure(e));
            }
        });
        Receive<StopVcpus>(stop =>
        {
            if (stop.Graceful)
                Try("pause before stopping", () => _guest?.Pause());
            Context.Stop(Self);
        });
        Receive<LendMachine>(lend =>
        {
            if (_guest is MachineGuestRuntime { } runtime)
            {
                _lentUntil = lend.Returned;
                Sender.Tell(new MachineLent(runtime.Machine));
            }
            else
                Sender.Tell(new Status.Failure(new VmmException("this guest has no machine to migrate", "migration-source")));
        });
        Receive<ReleaseGuest>(_ =>
        {
            _released = true;
            _running = false;
        });
        Receive<GuestExit>(exit =>
        {
            if (_released)
            {
                Context.Stop(Self);
                return;
            }
            _log.Info("VM {0} guest ended: {1}", _spec.Id, exit.Reason);
            Context.Parent.Tell(new GuestExited(exit, Self));
            Context.Stop(Self);
        });
    }

    public static Props Props(VmSpec spec, IGuestRuntimeFactory factory, IActorRef console, VmHosting? hosting = null) =>
        Akka.Actor.Props.Create(() => new VcpuSupervisor(spec, factory, console, hosting, null));

    /// <summary>A supervisor that adopts <paramref name="parked"/>, a guest already running here (its run was logged when it resumed).</summary>
    public static Props Adopt(VmSpec spec, ParkedGuest parked, IGuestRuntimeFactory factory, IActorRef console, VmHosting? hosting) =>
        Akka.Actor.Props.Create(() => new VcpuSupervisor(spec, factory, console, hosting, parked));

    /// <summary>Logs the start of a run interval (before the vCPUs may run).</summary>
    private void MarkRunning()
    {
        if (_running || _guest is null)
            return;
        _running = true;
        _hosting?.RunLog?.Start(_spec.Id);
    }

    /// <summary>Logs the end of a run interval (after the vCPUs stopped running).</summary>
    private void MarkEnded()
    {
        if (!_running)
            return;
        _running = false;
        _hosting?.RunLog?.End(_spec.Id);
    }

    /// <summary>
    /// Runs a vCPU request; a <see cref="VmmException"/> means the guest ended meanwhile (its exit
    /// message is on the way), so it is logged, not thrown.
    /// </summary>
    private void Try(string what, Action action)
    {
        try
        {
            action();
        }
        catch (VmmException e)
        {
            _log.Warning("VM {0}: cannot {1}: {2}", _spec.Id, what, e.Message);
        }
    }

    protected override void PreStart()
    {
        if (_adopted is not null)
        {
            _guest = _adopted.Guest;
            _running = true;
            var self = Self;
            var console = _console;
            _adopted.Attach(bytes => console.Tell(new SerialChunk(bytes)), exit => self.Tell(exit));
            _hosting?.Agent.Tell(new GuestBooted(_spec.Id, _guest));
            _console.Tell(new GuestInputSink(Self, _guest.SendSerialInput));
            return;
        }
        if (_spec.Disks.Count > 0)
        {
            // The disks must be the files the VM started on first: a missing image or a namesake ends the boot here.
            if (DiskIdentity.Bind(_spec.Disks, "this host", out var problem) is not { } identities)
            {
                Context.Parent.Tell(new GuestBootFailed(problem!, Self));
                Context.Stop(Self);
                return;
            }
            if (_spec.Disks.Any(d => d.Identity is null))
                Context.Parent.Tell(new DisksBound(identities, Self));
        }
        try
        {
            _guest = _factory.Create(_spec);
            var self = Self;
            var console = _console;
            _guest.SerialOutput += bytes => console.Tell(new SerialChunk(bytes));
            _guest.Exited += exit => self.Tell(exit);
            MarkRunning();
            _guest.Start();
            _hosting?.Agent.Tell(new GuestBooted(_spec.Id, _guest));
            _console.Tell(new GuestInputSink(Self, _guest.SendSerialInput));
        }
        catch (VmmException e)
        {
            Context.Parent.Tell(new GuestBootFailed(e.Message, Self));
            Context.Stop(Self);
        }
    }

    protected override void PostStop()
    {
        _console.Tell(new GuestInputSink(Self, null));
        if (_guest is null)
            return;
        _guest.Stop();
        MarkEnded();
        _hosting?.Agent.Tell(new GuestEnded(_spec.Id, _guest));
        var guest = _guest;
        _guest = null;
        // A migration that borrowed the machine may still read its memory: it is freed once it is given back.
        if (_lentUntil is { IsCompleted: false } lent)
            lent.ContinueWith(_ => guest.Dispose(), TaskScheduler.Default);
        else
            guest.Dispose();
    }
}
