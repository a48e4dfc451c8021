using Akka.Configuration;
using Cluster.Actors.Leases;
using Cluster.Vmm.Emulated;

namespace Cluster.Actors.Runtime.Workers;

/// <summary>
/// How a node runs its guests in VMM worker processes (<c>cluster-hypervisor.vmm</c> in HOCON).
/// </summary>
/// <param name="RuntimeDirectory">Where workers keep their sockets and records (a restarted node finds them there).</param>
/// <param name="WarmPool">Idle workers kept started, so a create does not wait for a process to start.</param>
/// <param name="Permit">How long a worker's run permit lasts: a worker whose node stops renewing pauses its guest after this.</param>
/// <param name="RenewEvery">How often the node renews each permit (all of them from one timer, <see cref="PermitRenewals"/>).</param>
/// <param name="LaunchTimeout">The longest wait for a new worker to answer.</param>
/// <param name="CallTimeout">The longest wait for one worker request.</param>
/// <param name="OrphanGrace">How long after the node's start a worker no VM actor re-attached to is left before it is shut down.</param>
/// <param name="Cgroups">Whether each worker gets its own cgroup (memory, CPU, pids limits).</param>
/// <param name="CgroupParent">The product's cgroup, under the node's own.</param>
/// <param name="DetachOnShutdown">Whether guests keep running in their workers when the node shuts down (single host: an upgrade); a cluster node stops them (its VMs go elsewhere).</param>
public sealed record WorkerSettings(string RuntimeDirectory, int WarmPool, TimeSpan Permit, TimeSpan RenewEvery, TimeSpan LaunchTimeout,
    TimeSpan CallTimeout, TimeSpan OrphanGrace, bool Cgroups, string CgroupParent, bool DetachOnShutdown)
{
    /// <summary>How often the node reads each worker's figures (vCPU time, I/O counters: <c>cluster-hypervisor.vmm.stats-every</c>);
    /// at a renewal tick, so at least <see cref="RenewEvery"/> apart.</summary>
    public TimeSpan StatsEvery { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The user workers run as (a name or a uid, <c>cluster-hypervisor.vmm.worker-user</c>) when the node runs as
    /// root; empty: the node's own user.</summary>
    public string WorkerUser { get; init; } = "";

    /// <summary>The user to start workers as: <see cref="WorkerUser"/> when set and this node runs as root, else null (a node
    /// that is not root cannot change a worker's user; its workers run as itself).</summary>
    public string? LaunchUser => WorkerUser.Length > 0 && Cluster.Vmm.Native.UserSwitch.EffectiveUid == 0 ? WorkerUser : null;

    /// <summary>Whether guests run in worker processes (<c>process</c>, the default) or inside the node (<c>in-process</c>).</summary>
    public static bool UsesWorkers(Config config) =>
        !string.Equals(config.GetString("cluster-hypervisor.vmm.isolation", "process"), "in-process", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads the settings; <paramref name="dataDirectory"/> holds the default runtime directory.</summary>
    public static WorkerSettings From(Config config, string dataDirectory, bool cluster) => new(
        config.GetString("cluster-hypervisor.vmm.runtime-directory", "") is { Length: > 0 } dir ? dir : Path.Combine(dataDirectory, "run"),
        config.GetInt("cluster-hypervisor.vmm.warm-pool", 1),
        config.GetTimeSpan("cluster-hypervisor.vmm.permit", TimeSpan.FromSeconds(3)),
        config.GetTimeSpan("cluster-hypervisor.vmm.permit-renew", TimeSpan.FromMilliseconds(250)),
        config.GetTimeSpan("cluster-hypervisor.vmm.launch-timeout", TimeSpan.FromSeconds(30)),
        config.GetTimeSpan("cluster-hypervisor.vmm.call-timeout", TimeSpan.FromSeconds(15)),
        config.GetTimeSpan("cluster-hypervisor.vmm.orphan-grace", TimeSpan.FromMinutes(2)),
        config.GetBoolean("cluster-hypervisor.vmm.cgroups", true),
        config.GetString("cluster-hypervisor.vmm.cgroup-parent", "cluster-hypervisor"),
        config.GetString("cluster-hypervisor.vmm.detach-on-shutdown", "auto") switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            _ => !cluster,
        })
    {
        WorkerUser = config.GetString("cluster-hypervisor.vmm.worker-user", ""),
        StatsEvery = config.GetTimeSpan("cluster-hypervisor.vmm.stats-every", TimeSpan.FromMilliseconds(250)),
        EmulatorCodePages = EmulatorCodePagesOf(config),
        RunLog = config.GetString("cluster-hypervisor.run-log", "") is { Length: > 0 } runLog ? runLog + WorkerRunLogSuffix : null,
    };

    /// <summary>What the workers' run log adds to the node's run log path (<c>cluster-hypervisor.run-log</c>).</summary>
    public const string WorkerRunLogSuffix = ".vmm";

    /// <summary>The file workers append their guests' run intervals to (<c>vmm serve --run-log</c>): the node's run log path
    /// with <see cref="WorkerRunLogSuffix"/> when the node keeps one, else null.</summary>
    public string? RunLog { get; init; }

    /// <summary>The node's host lease (<see cref="HostLeases"/>): permits never outlast it. Null: no lease (single host).</summary>
    public HostLeases? HostLease { get; init; }

    /// <summary>The run permit to grant now: <see cref="Permit"/>, never beyond what the host lease has left on this node's
    /// monotonic clock; null (grant nothing) once it ran out. Unbounded without a host lease.</summary>
    public TimeSpan? PermitNow() =>
        HostLease?.View.Bound(Permit) is { } bound ? (bound >= TimeSpan.FromMilliseconds(1) ? bound : null) : Permit;

    /// <summary>The bound of each emulated vCPU's decoded-code cache, in pages (<c>cluster-hypervisor.emulator.max-code-pages</c>).</summary>
    public int EmulatorCodePages { get; init; } = EmulatedHypervisor.DefaultMaxCodePages;

    /// <summary>Reads <c>cluster-hypervisor.emulator.max-code-pages</c> (default 4096).</summary>
    /// <exception cref="ArgumentException">below 1.</exception>
    public static int EmulatorCodePagesOf(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        int pages = config.GetInt("cluster-hypervisor.emulator.max-code-pages", EmulatedHypervisor.DefaultMaxCodePages);
        return pages >= 1 ? pages : throw new ArgumentException($"cluster-hypervisor.emulator.max-code-pages must be at least 1, not {pages}");
    }
}
