namespace Cluster.Node.Tests.Nemesis;

/// <summary>The faults the nemesis injects, one at a time, each healed before the next.</summary>
public enum FaultKind
{
    /// <summary>SIGKILL of a node and its VMM workers (a host crash); the node starts again after the hold.</summary>
    CrashHost,

    /// <summary>SIGKILL of the node process alone (a daemon crash): its workers run on, pause when their permit lapses,
    /// and the node re-attaches or stops them when it starts again.</summary>
    CrashNode,

    /// <summary>SIGSTOP of the node process for the hold, then SIGCONT (a stalled host: the cluster may down it meanwhile).</summary>
    StallNode,

    /// <summary>The node's link down for the hold, then up again (a clean partition of one host from the two others).</summary>
    Partition,

    /// <summary>A live migration, and a host crash of its source or its target a moment after it began.</summary>
    CrashDuringMigration,

    /// <summary>nftables in the node's namespace drops what comes from one peer (<see cref="Fault.Peer"/>) for the hold; what the
    /// node sends to it still passes.</summary>
    AsymmetricPartition,

    /// <summary>The node's link goes down and up every 0.5-2 s (drawn from <see cref="Fault.Detail"/>) for the hold.</summary>
    FlappingPartition,

    /// <summary>nftables in the node's namespace drops <see cref="Fault.Detail"/> % of its packets, both ways, at random
    /// (<c>numgen random mod 100</c>), for the hold.</summary>
    PacketLoss,

    /// <summary>The journal stops for the hold: the PostgreSQL server stopped and started again, or (SQLite) the journal's
    /// small file system filled, then freed.</summary>
    JournalOutage,

    /// <summary>Latency between the node and one peer (<see cref="Fault.Peer"/>): every TCP connection between the two goes
    /// through a relay in each one's namespace that delays each direction by <see cref="Fault.Detail"/> ms (50-300), for
    /// the hold (5-15 s); then the direct path again (<see cref="LatencyRelay"/>).</summary>
    Latency,

    /// <summary>The image directory (a tmpfs the hosts share) filled to its last byte for the hold (5-15 s): the disk VM's
    /// guest, writing its sparse disk slowly, meets ENOSPC (an I/O error to the guest); then the filler deleted and the
    /// disk VM started again if it stopped.</summary>
    ImageDiskFull,
}

/// <summary>One fault: its kind, the node it hits (the migration's source or target for <see cref="FaultKind.CrashDuringMigration"/>,
/// by <see cref="HitsTarget"/>), how long it holds, the client operations issued while it holds, the peer an asymmetric
/// partition drops or the latency delays, and a detail drawn with the schedule (the loss in percent, the latency in ms, the
/// flapping's seed).</summary>
public sealed record Fault(FaultKind Kind, int Node, TimeSpan Hold, bool HitsTarget, IReadOnlyList<ClientOp> During, int Peer = 0, int Detail = 0);

/// <summary>What the client asks of the cluster.</summary>
public enum OpKind
{
    Create,
    Migrate,
    Stop,
    Start,
}

/// <summary>One client operation: on VM <paramref name="Vm"/> (an index into the schedule's VMs), to host <paramref name="To"/>
/// for a migration.</summary>
public sealed record ClientOp(OpKind Kind, int Vm, int To);

/// <summary>
/// A seeded schedule: VMs to create first, then faults, each with the client operations issued while it holds, and
/// operations between faults. The same seed gives the same schedule (the timing of a real cluster still varies), so a
/// failing run is replayed with its seed. The operations of one batch are shared among <see cref="Clients"/> clients that
/// issue them at the same time.
/// </summary>
public sealed record NemesisSchedule(int Seed, int Vms, IReadOnlyList<(IReadOnlyList<ClientOp> Before, Fault Fault)> Steps, int Clients = 2)
{
    /// <summary>VMs with a disk in the shared image directory, after the <see cref="Vms"/> counting ones (v<see cref="Vms"/>,
    /// ...): one where the schedule fills the image directory, else none. The client's operations leave them alone.</summary>
    public int DiskVms => Steps.Any(s => s.Fault.Kind == FaultKind.ImageDiskFull) ? 1 : 0;

    /// <summary>The number of hosts the schedules are made for.</summary>
    public const int Hosts = 3;

    /// <summary>A schedule of <paramref name="faults"/> faults over <paramref name="vms"/> VMs, from <paramref name="seed"/>; each
    /// fault's kind is drawn from <paramref name="kinds"/> (every kind when null), or taken in its order when <paramref name="inOrder"/>;
    /// a journal outage lasts <paramref name="journalOutage"/> (default <see cref="JournalOutageSeconds"/>).</summary>
    public static NemesisSchedule Generate(int seed, int faults, int vms = 4, IReadOnlyList<FaultKind>? kinds = null, bool inOrder = false,
        TimeSpan? journalOutage = null)
    {
        var random = new Random(seed);
        kinds ??= Enum.GetValues<FaultKind>();
        var steps = new List<(IReadOnlyList<ClientOp>, Fault)>();
        for (var f = 0; f < faults; f++)
        {
            var kind = inOrder ? kinds[f % kinds.Count] : kinds[random.Next(kinds.Count)];
            var hold = kind switch
            {
                FaultKind.StallNode => TimeSpan.FromSeconds(random.Next(2, 9)),
                FaultKind.Partition or FaultKind.AsymmetricPartition => TimeSpan.FromSeconds(random.Next(3, 13)),
                FaultKind.FlappingPartition or FaultKind.PacketLoss or FaultKind.Latency or FaultKind.ImageDiskFull => TimeSpan.FromSeconds(random.Next(5, 16)),
                FaultKind.JournalOutage => journalOutage ?? TimeSpan.FromSeconds(JournalOutageSeconds),
                FaultKind.CrashDuringMigration => TimeSpan.FromMilliseconds(random.Next(0, 1500)),
                _ => TimeSpan.FromSeconds(random.Next(1, 6)),
            };
            var node = random.Next(Hosts);
            var peer = (node + 1 + random.Next(Hosts - 1)) % Hosts;
            var detail = kind switch
            {
                FaultKind.PacketLoss => random.Next(10, 41),
                FaultKind.Latency => random.Next(50, 301) is var ms && LatencyMsFromEnvironment is { } fixedMs ? fixedMs : ms,
                _ => random.Next(),
            };
            steps.Add((Ops(random, vms, random.Next(0, 4)),
                new Fault(kind, node, hold, random.Next(2) == 0, Ops(random, vms, kind == FaultKind.CrashDuringMigration ? 0 : random.Next(0, 4)), peer, detail)));
        }
        return new NemesisSchedule(seed, vms, steps, Clients: 2 + random.Next(2));
    }

    /// <summary>How long the journal stays stopped: 20 s, or CHAOS_JOURNAL_OUTAGE_S.</summary>
    public static int JournalOutageSeconds =>
        int.TryParse(Environment.GetEnvironmentVariable("CHAOS_JOURNAL_OUTAGE_S"), out var s) && s > 0 ? s : 20;

    /// <summary>CHAOS_LATENCY_MS: the latency every Latency fault adds (instead of the drawn 50-300 ms; 0 relays the
    /// connections with no delay, which tells the relays' reset of the open connections from the delay); null when not set.</summary>
    public static int? LatencyMsFromEnvironment =>
        int.TryParse(Environment.GetEnvironmentVariable("CHAOS_LATENCY_MS"), out var ms) && ms >= 0 ? ms : null;

    /// <summary>The fault kinds CHAOS_KINDS names (comma-separated), or null (every kind) when it is not set.</summary>
    public static IReadOnlyList<FaultKind>? KindsFromEnvironment() =>
        Environment.GetEnvironmentVariable("CHAOS_KINDS") is { Length: > 0 } list
            ? [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Enum.Parse<FaultKind>)]
            : null;

    private static List<ClientOp> Ops(Random random, int vms, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => new ClientOp(
            random.Next(10) switch { < 6 => OpKind.Migrate, < 8 => OpKind.Stop, _ => OpKind.Start },
            random.Next(vms), random.Next(Hosts)))];

    /// <summary>The fault kinds of the schedule, in order, for the summary.</summary>
    public string FaultList => string.Join(',', Steps.Select(s => s.Fault.Kind));

    /// <summary>The schedule as one line per step, for a failure message.</summary>
    public override string ToString() =>
        $"seed {Seed}, {Vms} VMs, {Clients} clients:\n" + string.Join('\n', Steps.Select((s, i) =>
            $"  {i}: ops [{string.Join(", ", s.Before.Select(Describe))}] then {s.Fault.Kind} node {s.Fault.Node}{Detail(s.Fault)}" +
            $" for {s.Fault.Hold.TotalSeconds:0.0} s, ops during [{string.Join(", ", s.Fault.During.Select(Describe))}]"));

    private static string Detail(Fault f) => f.Kind switch
    {
        FaultKind.CrashDuringMigration => f.HitsTarget ? " (target)" : " (source)",
        FaultKind.AsymmetricPartition => $" (drops from {f.Peer})",
        FaultKind.PacketLoss => $" ({f.Detail} %)",
        FaultKind.Latency => $" (+{f.Detail} ms each way to and from {f.Peer})",
        _ => "",
    };

    private static string Describe(ClientOp op) => op.Kind == OpKind.Migrate ? $"migrate v{op.Vm} -> {op.To}" : $"{op.Kind.ToString().ToLowerInvariant()} v{op.Vm}";
}
