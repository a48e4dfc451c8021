using System.Data.Common;
using System.Diagnostics;
using Akka.Actor;
using Akka.Coordination;
using Akka.Event;

namespace Cluster.Actors.Leases;

/// <summary>
/// Akka.Coordination's <see cref="Lease"/> kept in the journal's database (<see cref="LeaseStore"/>, table
/// <c>host_leases</c>), expiry by the database's clock: usable by the split brain resolver's lease-majority strategy
/// (<c>lease-majority.lease-implementation = "cluster-hypervisor.sql-lease"</c>) or any lease user. The lease's ttl is the
/// section's <c>heartbeat-timeout</c>; once acquired it is renewed every <c>heartbeat-interval</c>, and held locally until the
/// send time of the last successful renewal + ttl - <c>drift-margin</c> (the node's monotonic clock: <see cref="CheckLease"/>).
/// A renewal that finds another owner, or a local expiry with no renewal in time, calls the lost callback once.
/// </summary>
public sealed class SqlLease : Lease, IDisposable
{
    private readonly LeaseStore _store;
    private readonly ILoggingAdapter _log;
    private readonly TimeSpan _ttl;
    private readonly TimeSpan _margin;
    private readonly Lock _gate = new();
    private Timer? _renewal;
    private Action<Exception?>? _lost;
    private long _heldUntil;
    private int _renewing;

    /// <summary>Created by Akka's LeaseProvider from the section named by a lease user (its <c>lease-class</c> is this type).</summary>
    public SqlLease(LeaseSettings settings, ExtendedActorSystem system)
        : base(settings)
    {
        _store = LeaseStore.FromJournal(system.Settings.Config)
                 ?? throw new LeaseException("SqlLease needs the SQL journal (akka.persistence.journal.sql: SQLite or PostgreSQL)");
        _log = Logging.GetLogger(system, $"sql-lease:{settings.LeaseName}");
        _ttl = settings.TimeoutSettings.HeartbeatTimeout;
        _margin = settings.LeaseConfig.GetTimeSpan("drift-margin", TimeSpan.FromMilliseconds(200));
        if (_margin >= _ttl)
            throw new LeaseException($"drift-margin ({_margin}) must be below heartbeat-timeout ({_ttl})");
    }

    /// <inheritdoc />
    public override Task<bool> Acquire() => Acquire(null);

    /// <inheritdoc />
    public override async Task<bool> Acquire(Action<Exception?>? leaseLostCallback)
    {
        var sent = Stopwatch.GetTimestamp();
        bool held;
        try
        {
            held = await _store.TryAcquireAsync(Settings.LeaseName, Settings.OwnerName, _ttl).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException or IOException)
        {
            throw new LeaseException($"lease {Settings.LeaseName}: the database could not be asked ({e.Message})", e);
        }
        if (!held)
            return false;
        lock (_gate)
        {
            _lost = leaseLostCallback;
            Extend(sent);
            var every = Settings.TimeoutSettings.HeartbeatInterval;
            _renewal ??= new Timer(_ => _ = RenewAsync(), null, every, every);
        }
        _log.Info("lease {0} acquired by {1} ({2})", Settings.LeaseName, Settings.OwnerName, _store.Describe);
        return true;
    }

    /// <inheritdoc />
    public override async Task<bool> Release()
    {
        StopRenewing();
        Volatile.Write(ref _heldUntil, 0);
        try
        {
            return await _store.ReleaseAsync(Settings.LeaseName, Settings.OwnerName).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException or IOException)
        {
            throw new LeaseException($"lease {Settings.LeaseName}: the database could not be asked ({e.Message})", e);
        }
    }

    /// <inheritdoc />
    public override bool CheckLease() => Stopwatch.GetTimestamp() < Volatile.Read(ref _heldUntil);

    /// <summary>Stops renewing (the row runs out by itself).</summary>
    public void Dispose() => StopRenewing();

    private async Task RenewAsync()
    {
        if (Interlocked.Exchange(ref _renewing, 1) != 0)
            return;
        try
        {
            var sent = Stopwatch.GetTimestamp();
            bool held;
            try
            {
                held = await _store.TryAcquireAsync(Settings.LeaseName, Settings.OwnerName, _ttl).ConfigureAwait(false);
            }
            catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException or IOException)
            {
                _log.Warning("lease {0}: renewal failed ({1})", Settings.LeaseName, e.Message);
                if (!CheckLease())
                    Lose(new LeaseException($"lease {Settings.LeaseName} ran out: the database could not be asked ({e.Message})", e));
                return;
            }
            if (held)
                lock (_gate)
                    Extend(sent);
            else
                Lose(new LeaseException($"lease {Settings.LeaseName} is held by another owner"));
        }
        finally
        {
            Volatile.Write(ref _renewing, 0);
        }
    }

    private void Extend(long sentTicks)
    {
        var until = sentTicks + (long)((_ttl - _margin).TotalSeconds * Stopwatch.Frequency);
        if (until > Volatile.Read(ref _heldUntil))
            Volatile.Write(ref _heldUntil, until);
    }

    private void Lose(Exception why)
    {
        Action<Exception?>? lost;
        lock (_gate)
        {
            if (_renewal is null)
                return;
            lost = _lost;
            _lost = null;
            _renewal.Dispose();
            _renewal = null;
            Volatile.Write(ref _heldUntil, 0);
        }
        _log.Warning("lease {0} lost: {1}", Settings.LeaseName, why.Message);
        lost?.Invoke(why);
    }

    private void StopRenewing()
    {
        lock (_gate)
        {
            _renewal?.Dispose();
            _renewal = null;
            _lost = null;
        }
    }
}
