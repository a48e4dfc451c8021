using System.Diagnostics;
using Akka.Actor;
using Akka.Event;

namespace Cluster.Actors.Leases;

/// <summary>
/// Keeps this node's host lease (<c>host:NODE</c>, owner <c>NODE#UID</c>) in the journal's database: acquires it at start (a
/// row left by an earlier incarnation of the same host is taken at once), renews it every
/// <see cref="HostLeaseSettings.RenewEvery"/> (once held, only while the row is still its own or expired) and publishes a <see cref="HostLeaseView"/> in <see cref="HostLeases"/> after
/// each answer. Held until = the local monotonic time the successful request was sent + ttl - drift margin, so a node that
/// was stopped (SIGSTOP) or stalled meanwhile counts from before its stall. A renewal that fails (the database cannot be
/// reached) is logged, counted and tried again at the next tick; the lease then simply runs out. One request at a time.
/// The lease is not released at stop: guests may still be stopping, and it runs out by itself.
/// </summary>
public sealed class HostLeaseKeeper : ReceiveActor, IWithTimers
{
    /// <summary>The actor's name under /user.</summary>
    public const string Name = "host-lease";

    private readonly HostLeases _leases;
    private readonly LeaseStore _store;
    private readonly string _name;
    private readonly string _owner;
    private readonly string _takeOver;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private HostLeaseView _view;
    private bool _inFlight;
    private bool _held;
    private bool _everHeld;

    public HostLeaseKeeper(string host, long incarnation)
    {
        _leases = HostLeases.Get(Context.System);
        _store = _leases.Store ?? throw new InvalidOperationException("the host lease is off or the journal is not a SQL database");
        _name = HostLeases.LeaseName(host);
        _owner = $"{host}#{incarnation}";
        _takeOver = $"{host}#";
        _view = new HostLeaseView(true, 0, _owner, 0, 0);
        _leases.Publish(_view);

        Receive<Renew>(_ => Send());
        Receive<Renewed>(r =>
        {
            _inFlight = false;
            if (r.Held)
            {
                var until = r.SentTicks + (long)(_leases.Settings.HeldFor.TotalSeconds * Stopwatch.Frequency);
                if (!_held)
                    _log.Info("host lease {0} held by {1} ({2}; ttl {3}, held locally for ttl - {4})", _name, _owner, _store.Describe,
                        _leases.Settings.Ttl, _leases.Settings.DriftMargin);
                _held = true;
                _everHeld = true;
                Publish(_view with { HeldUntilTicks = Math.Max(_view.HeldUntilTicks, until), Renewals = _view.Renewals + 1 });
            }
            else
            {
                _log.Warning("host lease {0}: held by another owner ({1}); not held by {2}", _name, r.Holder ?? "unknown", _owner);
                _held = false;
                // Another owner holds it by the database's clock: whatever this node counted is void.
                Publish(_view with { HeldUntilTicks = 0, Failures = _view.Failures + 1 });
            }
        });
        Receive<RenewFailed>(f =>
        {
            _inFlight = false;
            var left = _view.RemainingNow ?? TimeSpan.Zero;
            _log.Warning("host lease {0}: renewal failed ({1}); {2} failures so far; {3}", _name, f.Reason, _view.Failures + 1,
                left > TimeSpan.Zero ? $"held for {left.TotalMilliseconds:0} ms more unless renewed" : "not held");
            if (left <= TimeSpan.Zero)
                _held = false;
            Publish(_view with { Failures = _view.Failures + 1 });
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props of the keeper of host <paramref name="host"/> in its incarnation <paramref name="incarnation"/> (the node's uid).</summary>
    public static Props Props(string host, long incarnation) => Akka.Actor.Props.Create(() => new HostLeaseKeeper(host, incarnation));

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("renew", Renew.Instance, _leases.Settings.RenewEvery);
        Send();
    }

    private void Send()
    {
        if (_inFlight)
            return;
        _inFlight = true;
        var sent = Stopwatch.GetTimestamp();
        var store = _store;
        var name = _name;
        var owner = _owner;
        // Only the first acquisition takes the row from an earlier incarnation of this host: once held, a renewal that finds
        // another owner (a newer incarnation of this host) loses it, instead of the two taking it from each other in turn.
        var prefix = _everHeld ? "" : _takeOver;
        var ttl = _leases.Settings.Ttl;
        Acquire(store, name, owner, ttl, prefix, sent).PipeTo(Self);
    }

    private static async Task<object> Acquire(LeaseStore store, string name, string owner, TimeSpan ttl, string prefix, long sent)
    {
        try
        {
            if (await store.TryAcquireAsync(name, owner, ttl, prefix).ConfigureAwait(false))
                return new Renewed(true, sent, null);
            var row = await store.ReadAsync(name).ConfigureAwait(false);
            return new Renewed(false, sent, row?.Owner);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException or IOException)
        {
            return new RenewFailed(e.Message);
        }
    }

    private void Publish(HostLeaseView view)
    {
        _view = view;
        _leases.Publish(view);
    }

    private sealed class Renew
    {
        public static Renew Instance { get; } = new();
    }

    private sealed record Renewed(bool Held, long SentTicks, string? Holder);

    private sealed record RenewFailed(string Reason);
}
