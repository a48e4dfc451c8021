// Scale benchmark, by simulation: HOSTS simulated hosts and VMS simulated guests in one process, decided by the real
// placement and rebalancing code (PlacementBoard, Placer, RebalancePlanner) called the way the Scheduler singleton,
// the shard allocation strategy and the Rebalancer singleton call it. Phases: create every VM one by one; a load shift
// (one tenant's VMs become busy); one rebalancer evaluation with the shipped limits, then a whole plan to balance with
// the move limits lifted; a host crash and the HA restart planning of its VMs. The breakdown is printed above the
// last line: hosts=N vms=N place_p99_ms=N plan_ms=N moves_ratio=R (targets: place p99 <= 50 ms, plan <= 1000 ms).
using System.Globalization;
using Cluster.Actors.Placement;
using Cluster.Actors.Rebalancing;
using ScaleBench.Sim;

var hostCount = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100;
var vmCount = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000;
var seed = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1;
var shape = new SimShape(hostCount, vmCount, seed);
var placement = PlacementSettings.Default;
var shipped = RebalanceSettings.Default;
var cluster = new SimCluster(shape);
var failed = false;

void Check(string phase, IReadOnlySet<string>? down = null)
{
    var problems = SimChecks.Problems(cluster, placement, down);
    Console.WriteLine($"  check after {phase}: {(problems.Count == 0 ? "every VM runs once, every host keeps every placement rule" : $"{problems.Count} problems")}");
    foreach (var p in problems.Take(10))
        Console.WriteLine($"    {p}");
    failed |= problems.Count > 0;
}

Console.WriteLine($"cluster: {hostCount} hosts of {shape.HostVcpus} vCPUs (x{placement.VcpuOvercommit} overcommit) and " +
                  $"{shape.HostMemory / SimShape.GiB} GiB in {SimShape.Zones} zones; {vmCount} VMs of 1-8 vCPUs, " +
                  $"{SimShape.ZonedShare:P0} requiring a zone, {SimShape.GroupedShare:P0} in anti-affinity groups of 3; seed {seed}");

// 1. Placement, one CreateVm at a time as the Scheduler handles them; every host reports once per HOSTS placements.
var place = new PlacementRun(cluster, placement, reportEvery: hostCount);
place.Run();
Console.WriteLine($"placement: {vmCount - place.Refused.Count} of {vmCount} placed ({placement.Mode}), one request at a time, in-process (0 round trips)");
Console.WriteLine($"  per placement (ms)   {place.Place.Summary}");
Console.WriteLine($"    duplicate check    {place.Exists.Summary}");
Console.WriteLine($"    board views        {place.Views.Summary}");
Console.WriteLine($"    placer choose      {place.Choose.Summary}");
Console.WriteLine($"    board decide       {place.Decide.Summary}");
Console.WriteLine($"  host report rounds   {place.Reports.Count} rounds of {hostCount} reports: {place.Reports.Summary} (not in the placements)");
foreach (var r in place.Refused.Take(5))
    Console.WriteLine($"  refused {r}");
failed |= place.Refused.Count > 0;
Check("placement");
var beforeShift = SimChecks.Imbalance(cluster, cluster.Hosts);

// 2. The load shift, then the Rebalancer's evaluation with the shipped settings (one pass: at most max-moves moves).
cluster.HotTenant();
cluster.ReportAll();
var before = SimChecks.Imbalance(cluster, cluster.Hosts);
var bound = SimChecks.LeastMoves(cluster, shipped.Threshold);
Console.WriteLine($"load shift: the VMs requiring z0 go to 90% busy; imbalance {beforeShift:0.0000} -> {before:0.0000} (threshold {shipped.Threshold})");
var pass = RebalanceRun.Evaluate(cluster, shipped, placement);
Console.WriteLine($"rebalance pass (shipped: max-moves {shipped.MaxMoves}, per host {shipped.MaxMovesPerHost}, min-gain {shipped.MinGain}): " +
                  $"{pass.Plan.Steps.Count} moves, {pass.TotalMs:0.0} ms = views {pass.ViewsMs:0.0} + input {pass.InputMs:0.0} + " +
                  $"measure {pass.MeasureMs:0.0} + plan {pass.PlanMs:0.0}; digest {Digest(pass.Plan)}");

// 3. The whole way to balance in one plan: the concurrency limits lifted (the passes would start these moves a few at a
// time) and min-gain lowered to 1e-6 (any move that lowers the imbalance): the shipped 0.02 is an absolute drop of the
// standard deviation, and one move's drop shrinks as 1/hosts, so at 100 hosts it stops the plan long before balance.
var shippedFull = RebalanceRun.Evaluate(cluster, shipped with { MaxMoves = vmCount, MaxMovesPerHost = vmCount }, placement);
Console.WriteLine($"rebalance plan, limits lifted, shipped min-gain {shipped.MinGain}: {shippedFull.Plan.Steps.Count} moves in {shippedFull.PlanMs:0.0} ms, " +
                  $"imbalance {shippedFull.Plan.Imbalance:0.0000} -> {shippedFull.Plan.ImbalanceAfter:0.0000}");
var lifted = shipped with { MaxMoves = vmCount, MaxMovesPerHost = vmCount, MinGain = 1e-6 };
var full = RebalanceRun.Evaluate(cluster, lifted, placement);
var moves = full.Plan.Steps.Count;
Console.WriteLine($"rebalance plan to balance (max-moves and per host lifted to {vmCount}, min-gain {lifted.MinGain}): {moves} moves, " +
                  $"{full.TotalMs:0.0} ms = views {full.ViewsMs:0.0} + input {full.InputMs:0.0} + measure {full.MeasureMs:0.0} + plan {full.PlanMs:0.0}");
Console.WriteLine($"  imbalance {full.Plan.Imbalance:0.0000} -> {full.Plan.ImbalanceAfter:0.0000} planned; {moves / Math.Max(1.0, full.PlanMs / 1000):0} moves/s planned; the plan used {full.PlanCpuMs:0.0} ms of its thread's CPU (wall minus CPU: waiting for a core)");
var work = full.Plan.Work;
Console.WriteLine($"  planner work: {work.Scans} scans for {moves} steps ({work.PlacerRefusals} best candidates refused by the Placer), " +
                  $"{work.Sources} source hosts, {work.Vms} VMs bounded, {work.Aims} VMs' targets tried, {work.Targets} target imbalances computed");
Console.WriteLine($"  plan digest {Digest(full.Plan)} (the same inputs give the same plan: compare across planner changes)");
Console.WriteLine($"  least moves to the threshold (lower bound: per host, and per zone with the zoned VMs kept in their zone): {bound}");
foreach (var step in full.Plan.Steps)
    cluster.Run(step.Move.VmId, step.Move.To);
cluster.ReportAll();
var after = SimChecks.Imbalance(cluster, cluster.Hosts);
Console.WriteLine($"  applied: imbalance {before:0.0000} -> {after:0.0000}");
Check("the moves");
failed |= after >= before && before > shipped.Threshold;

// 4. A host crashes: HA restart planning of its VMs, as the allocation strategy places each of their shards.
var victim = cluster.Hosts.OrderByDescending(h => cluster.VmsOn(h).Count).ThenBy(h => h, StringComparer.Ordinal).First();
var ha = new HaRun(cluster, placement);
var downVms = cluster.VmsOn(victim).ToHashSet(StringComparer.Ordinal);
ha.Run(victim);
Console.WriteLine($"ha: {victim} crashed with {ha.Vms} VMs; restart planned for {ha.Vms - ha.Stuck.Count} in {ha.TotalMs:0.0} ms " +
                  $"(per VM {ha.PerVm.Summary}; views {ha.Views.Summary}; choose {ha.Choose.Summary})");
Console.WriteLine($"  not counted: the priority delays of the allocation strategy, {ha.PriorityDelayMs / 1000:0.0} s summed over the VMs");
foreach (var s in ha.Stuck.Take(5))
    Console.WriteLine($"  stuck {s}");
Check("the restarts", ha.Stuck.Count > 0 ? downVms : null);

var ratio = bound == 0 ? (moves == 0 ? 1.0 : double.PositiveInfinity) : (double)moves / bound;
Console.WriteLine(FormattableString.Invariant(
    $"hosts={hostCount} vms={vmCount} place_p99_ms={place.Place.Percentile(99):0.00} plan_ms={full.PlanMs:0.0} plan_cpu_ms={full.PlanCpuMs:0.0} moves_ratio={ratio:0.00}"));
return failed ? 1 : 0;

static string Digest(RebalancePlan plan) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
    System.Text.Encoding.UTF8.GetBytes(string.Join("\n", plan.Steps.Select(s => $"{s.Move.VmId} {s.Move.From} {s.Move.To}")))))[..16];
