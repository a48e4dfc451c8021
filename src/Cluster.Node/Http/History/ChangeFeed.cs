using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;

namespace Cluster.Node.Http.History;

/// <summary>
/// The cluster-wide event feed, made by comparing each sample of the cluster with the one before: VMs placed, their
/// status changes with the VM's own reason, restarts by the restart policy, a VM that comes back on another host
/// without a migration (a failover: the new owner's claim fences the old one), deletions, each migration's start (with
/// its cause: operator, rebalance or drain, and the rebalancer's summary) and its end (downtime, or why it failed),
/// hosts that join or leave, drains and undrains. The first sample sets the baseline (no events for what already
/// was) but reports the migrations the cluster remembers, at their own times. Keeps the last <c>capacity</c> events.
/// </summary>
public sealed class ChangeFeed(int capacity = ChangeFeed.DefaultCapacity)
{
    public const int DefaultCapacity = 1000;

    private readonly Queue<FeedEvent> _events = new();
    private readonly Dictionary<string, VmInfo> _vms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MigrationState> _migrations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, bool> _hosts = new(StringComparer.Ordinal);
    private bool _primed;
    private long _seq;

    /// <summary>The number of the newest event (0 before any).</summary>
    public long Last => _seq;

    /// <summary>The kept events newer than <paramref name="seq"/>, oldest first.</summary>
    public IReadOnlyList<FeedEvent> After(long seq) => [.. _events.Where(e => e.Seq > seq)];

    /// <summary>
    /// Compares a sample taken at <paramref name="at"/> with the last one and records what changed;
    /// <paramref name="balance"/> null when the rebalancer did not answer (the hosts keep their drain states).
    /// </summary>
    public void Observe(DateTime at, IReadOnlyList<HostStatus> hosts, IReadOnlyList<VmInfo> vms, IReadOnlyList<MigrationInfo> migrations,
        IReadOnlyList<RebalanceHost>? balance)
    {
        var migrating = migrations.Where(m => m.State is MigrationState.Committing or MigrationState.PostCopy or MigrationState.Completed)
            .Select(m => m.VmId).ToHashSet(StringComparer.Ordinal);
        ObserveHosts(at, hosts, balance);
        ObserveVms(at, vms, migrating);
        ObserveMigrations(migrations);
        _primed = true;
    }

    private void ObserveHosts(DateTime at, IReadOnlyList<HostStatus> hosts, IReadOnlyList<RebalanceHost>? balance)
    {
        var draining = balance?.ToDictionary(b => b.Host, b => b.Draining, StringComparer.Ordinal);
        foreach (var h in hosts)
        {
            var known = _hosts.TryGetValue(h.Host, out var was);
            var drains = draining is null ? was : draining.GetValueOrDefault(h.Host);
            if (!known)
            {
                if (_primed) Add(at, "host", null, h.Host, $"host {h.Host} joined ({h.Vcpus} vCPUs, {h.MemoryBytes >> 20} MiB for guests)");
            }
            else if (was != drains)
                Add(at, "drain", null, h.Host, drains ? $"host {h.Host} is draining: its VMs move away" : $"host {h.Host} was undrained: it takes VMs again");
            _hosts[h.Host] = drains;
        }
        foreach (var gone in _hosts.Keys.Where(k => hosts.All(h => h.Host != k)).ToList())
        {
            _hosts.Remove(gone);
            Add(at, "host", null, gone, $"host {gone} left the cluster");
        }
    }

    private void ObserveVms(DateTime at, IReadOnlyList<VmInfo> vms, HashSet<string> migrating)
    {
        foreach (var v in vms)
        {
            if (!_vms.TryGetValue(v.VmId, out var was))
            {
                if (_primed) Add(v.Since, "placement", v.VmId, v.Node, $"{v.VmId} created on {v.Node} ({v.Status.ToString().ToLowerInvariant()}): {v.Reason}");
            }
            else
            {
                if (v.Node != was.Node && !migrating.Contains(v.VmId))
                    Add(v.Since, "failover", v.VmId, v.Node, $"{v.VmId} now runs on {v.Node}, was on {was.Node} (its new owner fences the old): {v.Reason}");
                if (v.Restarts > was.Restarts)
                    Add(v.Since, "restart", v.VmId, v.Node, $"{v.VmId} restarted by its restart policy (restart {v.Restarts}): {v.Reason}");
                else if (v.Status != was.Status)
                    Add(v.Since, "status", v.VmId, v.Node, $"{v.VmId} {was.Status.ToString().ToLowerInvariant()} → {v.Status.ToString().ToLowerInvariant()}: {v.Reason}");
            }
            _vms[v.VmId] = v;
        }
        foreach (var gone in _vms.Keys.Where(k => vms.All(v => v.VmId != k)).ToList())
        {
            var last = _vms[gone];
            _vms.Remove(gone);
            Add(at, "deleted", gone, last.Node, $"{gone} was deleted");
        }
    }

    private void ObserveMigrations(IReadOnlyList<MigrationInfo> migrations)
    {
        foreach (var m in migrations.OrderBy(m => m.StartedAt))
        {
            var known = _migrations.TryGetValue(m.MigrationId, out var was);
            if (!known)
                Add(m.StartedAt, "migration", m.VmId, m.Source,
                    $"{m.VmId} migrating {m.Source} → {m.Target} ({m.Strategy.ToString().ToLowerInvariant()}), {Cause(m.Cause)}");
            if (!m.InProgress && (!known || was != m.State))
                Add(m.FinishedAt ?? m.StartedAt, "migration", m.VmId, m.Target, m.State switch
                {
                    MigrationState.Completed => $"{m.VmId} migrated to {m.Target}: paused {m.DowntimeMs:0.#} ms, {m.TotalMs:0} ms in all, {m.Round + 1} rounds",
                    MigrationState.Cancelled => $"{m.VmId} stays on {m.Source}: migration cancelled ({m.FailureReason})",
                    _ => $"{m.VmId} stays on {m.Source}: migration failed ({m.FailureReason})",
                });
            _migrations[m.MigrationId] = m.State;
        }
        foreach (var gone in _migrations.Keys.Where(k => migrations.All(m => m.MigrationId != k)).ToList())
            _migrations.Remove(gone);
    }

    private static string Cause(MigrationCause cause) => cause.Trigger switch
    {
        MigrationTrigger.Operator => "asked by an operator",
        MigrationTrigger.Rebalance => $"by the rebalancer: {cause.Summary}",
        _ => $"for a drain: {cause.Summary}",
    };

    private void Add(DateTime at, string kind, string? vm, string? host, string text)
    {
        _events.Enqueue(new FeedEvent(++_seq, at, kind, vm, host, text));
        while (_events.Count > capacity)
            _events.Dequeue();
    }
}
