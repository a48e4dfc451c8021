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
}

/// <summary>One fault: its kind, the node it hits (the migration's source or target for <see cref="FaultKind.CrashDuringMigration"/>,
/// by <see cref="HitsTarget"/>), how long it holds, and the client operations issued while it holds.</summary>
public sealed record Fault(FaultKind Kind, int Node, TimeSpan Hold, bool HitsTarget, IReadOnlyList<ClientOp> During);

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
/// failing run is replayed with its seed.
/// </summary>
public sealed record NemesisSchedule(int Seed, int Vms, IReadOnlyList<(IReadOnlyList<ClientOp> Before, Fault Fault)> Steps)
{
    /// <summary>The number of hosts the schedules are made for.</summary>
    public const int Hosts = 3;

    /// <summary>A schedule of <paramref name="faults"/> faults over <paramref name="vms"/> VMs, from <paramref name="seed"/>.</summary>
    public static NemesisSchedule Generate(int seed, int faults, int vms = 4)
    {
        var random = new Random(seed);
        var kinds = Enum.GetValues<FaultKind>();
        var steps = new List<(IReadOnlyList<ClientOp>, Fault)>();
        for (var f = 0; f < faults; f++)
        {
            var kind = kinds[random.Next(kinds.Length)];
            var hold = kind switch
            {
                FaultKind.StallNode => TimeSpan.FromSeconds(random.Next(2, 9)),
                FaultKind.Partition => TimeSpan.FromSeconds(random.Next(3, 13)),
                FaultKind.CrashDuringMigration => TimeSpan.FromMilliseconds(random.Next(0, 1500)),
                _ => TimeSpan.FromSeconds(random.Next(1, 6)),
            };
            steps.Add((Ops(random, vms, random.Next(0, 3)),
                new Fault(kind, random.Next(Hosts), hold, random.Next(2) == 0, Ops(random, vms, kind == FaultKind.CrashDuringMigration ? 0 : random.Next(0, 3)))));
        }
        return new NemesisSchedule(seed, vms, steps);
    }

    private static List<ClientOp> Ops(Random random, int vms, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => new ClientOp(
            random.Next(10) switch { < 6 => OpKind.Migrate, < 8 => OpKind.Stop, _ => OpKind.Start },
            random.Next(vms), random.Next(Hosts)))];

    /// <summary>The schedule as one line per step, for a failure message.</summary>
    public override string ToString() =>
        $"seed {Seed}, {Vms} VMs:\n" + string.Join('\n', Steps.Select((s, i) =>
            $"  {i}: ops [{string.Join(", ", s.Before.Select(Describe))}] then {s.Fault.Kind} node {s.Fault.Node}" +
            $"{(s.Fault.Kind == FaultKind.CrashDuringMigration ? (s.Fault.HitsTarget ? " (target)" : " (source)") : "")}" +
            $" for {s.Fault.Hold.TotalSeconds:0.0} s, ops during [{string.Join(", ", s.Fault.During.Select(Describe))}]"));

    private static string Describe(ClientOp op) => op.Kind == OpKind.Migrate ? $"migrate v{op.Vm} -> {op.To}" : $"{op.Kind.ToString().ToLowerInvariant()} v{op.Vm}";
}
