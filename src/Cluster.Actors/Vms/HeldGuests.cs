using System.Collections.Concurrent;
using Akka.Actor;
using Cluster.Actors.Migration;
using Cluster.Actors.Runtime;

namespace Cluster.Actors.Vms;

/// <summary>
/// Guests that keep running while their VM actor is gone because the journal failed (one per node, an actor-system
/// extension: the guests are live objects and stay on this host). A VM actor whose write or recovery fails asks for a
/// hold (<see cref="Faulted"/>) before Akka stops it; its vCPU supervisor, stopped with it, then parks the guest
/// here instead of stopping it (<see cref="TryHold"/>); the VM's next incarnation takes it back (<see cref="Take"/>) once
/// its journal reads again, when the journal still gives the VM to this node under the held epoch. Fault counts per
/// VM give the back-off between attempts and the figure operators see (<see cref="Faults"/>).
/// Held guests are fence-paused and resumed with the rest of the node's guests (<see cref="PauseAll"/>).
/// </summary>
public sealed class HeldGuests : IExtension
{
    private readonly ConcurrentDictionary<string, (long Epoch, bool Paused)> _requested = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HeldGuest> _held = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);
    private long _faults;
    private volatile bool _fenced;

    public static HeldGuests Get(ActorSystem system) => system.WithExtension<HeldGuests, HeldGuestsProvider>();

    /// <summary>Journal faults seen on this node since it started (writes and recoveries that failed).</summary>
    public long Faults => Interlocked.Read(ref _faults);

    /// <summary>
    /// Records a journal fault of <paramref name="vmId"/> and, when its guest runs here under <paramref name="epoch"/>
    /// (non-zero; <paramref name="paused"/> when an operator paused it), asks that the guest be held when its supervisor
    /// stops. Returns the delay before the VM actor should be started again (<see cref="RetryDelay"/>).
    /// </summary>
    public TimeSpan Faulted(string vmId, long epoch, bool paused)
    {
        Interlocked.Increment(ref _faults);
        if (epoch != 0)
            _requested[vmId] = (epoch, paused);
        _attempts.AddOrUpdate(vmId, 1, (_, n) => n + 1);
        return RetryDelay(vmId);
    }

    /// <summary>The longest back-off: a VM whose actor stopped on a journal fault stays down at most this long after its journal reads again.</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(8);

    /// <summary>The back-off before the next attempt to start the VM actor: 0.5 s doubled per consecutive fault, at most <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay(string vmId)
    {
        int attempt = _attempts.GetValueOrDefault(vmId, 1);
        return TimeSpan.FromMilliseconds(Math.Min(MaxRetryDelay.TotalMilliseconds, 500 * Math.Pow(2, Math.Min(attempt - 1, 10))));
    }

    /// <summary>Whether <paramref name="vmId"/> had a journal fault not yet cleared by a successful recovery.</summary>
    public bool IsFaulted(string vmId) => _attempts.ContainsKey(vmId);

    /// <summary>The VM's journal read again: the back-off starts over.</summary>
    public void Cleared(string vmId) => _attempts.TryRemove(vmId, out _);

    /// <summary>
    /// From a stopping vCPU supervisor: parks <paramref name="guest"/> when a hold was requested for its VM (the VM actor
    /// stopped on a journal fault). False when none was: the supervisor stops the guest as usual.
    /// </summary>
    public bool TryHold(string vmId, IGuestRuntime guest)
    {
        if (!_requested.TryRemove(vmId, out var request))
            return false;
        var held = new HeldGuest(new ParkedGuest(guest), request.Epoch) { PausedByCommand = request.Paused };
        _held[vmId] = held;
        if (_fenced)
            Try(() => guest.Pause());
        return true;
    }

    /// <summary>The held guest of <paramref name="vmId"/>, removed; null when none.</summary>
    public HeldGuest? Take(string vmId)
    {
        _requested.TryRemove(vmId, out _);
        return _held.TryRemove(vmId, out var held) ? held : null;
    }

    /// <summary>Fence pause: this node lost the majority, so held guests stop running like every other guest here.</summary>
    public void PauseAll()
    {
        _fenced = true;
        foreach (var held in _held.Values)
            Try(() => held.Parked.Guest.Pause());
    }

    /// <summary>The majority is back: held guests that were running before the fence pause run again.</summary>
    public void ResumeAll()
    {
        _fenced = false;
        foreach (var held in _held.Values.Where(h => !h.PausedByCommand))
            Try(() => held.Parked.Guest.Resume());
    }

    private static void Try(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is Cluster.Vmm.VmmException or ObjectDisposedException or InvalidOperationException or IOException)
        {
            // A guest that ended or broke meanwhile: its exit is kept by the parked guest and seen at the re-attach.
        }
    }
}

/// <summary>A guest held for its VM's next incarnation, and the epoch it ran under.</summary>
public sealed record HeldGuest(ParkedGuest Parked, long Epoch)
{
    /// <summary>Paused by an operator's command before the hold (the fence resume leaves it paused).</summary>
    public bool PausedByCommand { get; init; }
}

public sealed class HeldGuestsProvider : ExtensionIdProvider<HeldGuests>
{
    public override HeldGuests CreateExtension(ExtendedActorSystem system) => new();
}
