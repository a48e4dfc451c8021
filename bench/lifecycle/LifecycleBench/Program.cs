using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Configuration;
using Cluster.Actors.Hosting;
using Cluster.Actors.Runtime;
using Cluster.Actors.Runtime.Workers;
using Cluster.Actors.Vms;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Validation;
using Cluster.Contracts.Vms;
using Cluster.Vmm.Hypervisor;
using LifecycleBench;

// Lifecycle benchmark of one node as the product runs: the VM manager with the SQLite journal on, each guest in its own VMM
// worker process (cluster-node vmm serve) taken from the warm pool (README.md next to this folder):
//   1. create -> first serial byte of the hello guest, sequential samples, the pool full before each (p50, p99), by phase;
//   2. burst: as many idle guests as the pool holds, created and started at once from a full pool (VMs/s);
//   3. sustained: VMS more idle guests at once, so that the pool runs dry and spawning workers dominates (VMs/s);
//   4. memory: PSS of each worker of those idle guests beyond its guest RAM, and of as many QEMU (TCG) processes the same way;
//   and the QEMU peer's process start to first serial byte.
// usage: LifecycleBench [SAMPLES=20] [VMS=60] [POOL=4]; CLUSTER_NODE is the command that runs cluster-node (space separated).
var inv = CultureInfo.InvariantCulture;
var samples = args.Length > 0 ? int.Parse(args[0], inv) : 20;
var vms = args.Length > 1 ? int.Parse(args[1], inv) : 60;
var pool = args.Length > 2 ? int.Parse(args[2], inv) : 4;
var repo = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", ".."));
var command = Environment.GetEnvironmentVariable("CLUSTER_NODE") is { Length: > 0 } given
    ? given.Split(' ', StringSplitOptions.RemoveEmptyEntries)
    : [.. Cluster.Vmm.Worker.WorkerPrograms.Choose(Path.Combine(repo, "src", "Cluster.Node", "bin", "Release", "net10.0"),
        Environment.GetEnvironmentVariable(Cluster.Vmm.Worker.WorkerPrograms.Variable), out _)];
var data = Path.Combine(Path.GetTempPath(), "lifecycle-bench", Guid.NewGuid().ToString("N"));
// LIFECYCLE_TIMEOUT_S: the longest wait for one step (default 120 s; on a machine other jobs load, worker starts take far longer).
var timeout = TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("LIFECYCLE_TIMEOUT_S"), out var timeoutSeconds) ? timeoutSeconds : 120);
const ulong guestBytes = 2UL << 20; // the smallest guest (MachineGuestRuntimeFactory.MinMemoryBytes)

// The node's default backend (cluster-node --backend emulated); LIFECYCLE_BACKEND=auto|kvm picks another.
var backend = Environment.GetEnvironmentVariable("LIFECYCLE_BACKEND") switch
{
    "kvm" => BackendKind.Kvm,
    "auto" => BackendKind.Auto,
    _ => BackendKind.Emulated,
};
using var hypervisor = HypervisorFactory.Create(backend, out var reason);
Console.WriteLine($"backend: {reason}; worker command: {string.Join(' ', command)}; warm pool {pool}");
var config = HypervisorConfig.Load(HypervisorConfig.DefaultHoconDirectory, data, ConfigurationFactory.ParseString(
    $"akka.loglevel = WARNING\nakka.actor.provider = local\ncluster-hypervisor.vmm.warm-pool = {pool}"));
var system = ActorSystem.Create("bench", HypervisorConfig.Setup(config));
var settings = WorkerSettings.From(config, data, cluster: false);
var log = new List<string>();
var workers = new WorkerGuestRuntimeFactory(hypervisor, settings, command, hypervisor.Kind, line => { lock (log) log.Add(line); });
var factory = new TimedFactory(workers);
workers.Created += t => factory.Phases.GetOrAdd(t.VmId, _ => new GuestPhases()).Worker = t;
var limits = new VmSpecLimits(factory.MaxVcpus, MachineGuestRuntimeFactory.MinMemoryBytes, 1UL << 30, factory.BuiltInImages);
var manager = system.ActorOf(VmManager.Props(factory, new VmSpecValidator(limits), VmActorSettings.From(config, "bench")), VmManager.Name);
Console.WriteLine(workers.CgroupNote);

VmSpec Spec(string id, string image, params string[] guestArgs) =>
    new(id, id, 1, guestBytes, new BuiltInImage(image), guestArgs, new Dictionary<string, string>(), null, RestartPolicy.Never);

async Task Expect<T>(object message)
{
    var reply = await manager.Ask<object>(message, timeout);
    if (reply is not T)
        throw new InvalidOperationException($"{message} -> {reply}");
}

async Task PoolFull()
{
    var clock = Stopwatch.StartNew();
    while (workers.PoolIdle < pool)
    {
        if (clock.Elapsed > timeout)
            throw new TimeoutException($"the warm pool holds {workers.PoolIdle} of {pool} after {timeout}");
        await Task.Delay(10);
    }
    await Task.Delay(200); // the last worker's start-up (JIT, GC) settles
}

static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
static double Percentile(List<double> values, double p)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Min(sorted.Count - 1, Math.Max(0, (int)Math.Ceiling(p * sorted.Count) - 1))];
}

// 1. create -> first byte, from a full pool
var phases = new Dictionary<string, List<double>>();
void Add(string phase, double ms)
{
    if (!phases.TryGetValue(phase, out var list))
        phases[phase] = list = [];
    list.Add(ms);
}
// The journal alone, as each create pays it: a new id's recovery, one write, a write of two events.
for (var i = 0; i < samples + 3; i++)
{
    var times = new TaskCompletionSource<JournalTimes>(TaskCreationOptions.RunContinuationsAsynchronously);
    system.ActorOf(JournalProbe.Props(i.ToString(inv), times)).Tell(JournalProbe.Go.Instance);
    var t = await times.Task.WaitAsync(timeout);
    if (i < 3)
        continue;
    Add("journal: new id recovered", t.Recovered);
    Add("journal: 1 event persisted", t.OneEvent);
    Add("journal: 2 events persisted (one write)", t.TwoEvents);
}
var hitsBefore = workers.PoolHits;
var spawnsBefore = workers.PoolSpawns;
for (var i = 0; i < samples + 3; i++)
{
    await PoolFull();
    var id = $"fb-{i}";
    var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
    var probe = system.ActorOf(Props.Create(() => new FirstByteProbe(done)));
    var start = Stopwatch.GetTimestamp();
    await Expect<VmCommandAccepted>(new CreateVm(Spec(id, "hello")));
    var persisted = Stopwatch.GetTimestamp();
    manager.Tell(new ConsoleAttach(id), probe);
    await Expect<VmCommandAccepted>(new StartVm(id));
    var startAcked = Stopwatch.GetTimestamp();
    var at = await done.Task.WaitAsync(timeout);
    if (i >= 3)
    {
        var p = factory.Phases[id];
        // The first byte can reach the probe before the Start request's reply reaches the runtime.
        while (Volatile.Read(ref p.StartReturned) == 0)
            await Task.Delay(1);
        var w = p.Worker!;
        Add("first byte (total)", Ms(start, at));
        Add("CreateVm persisted and acknowledged", Ms(start, persisted));
        Add("StartVm acknowledged", Ms(persisted, startAcked));
        Add("VM actor -> factory entered", Ms(persisted, p.FactoryEntered));
        Add("worker taken", w.Take.TotalMilliseconds);
        Add("cgroup made, worker moved in", w.Contain.TotalMilliseconds);
        Add("Create request (round trip)", w.CreateRequest.TotalMilliseconds);
        Add("Create returned -> Start sent", Ms(p.CreateReturned, p.StartCalled));
        Add("Start request (round trip)", Ms(p.StartCalled, p.StartReturned));
        Add("Start sent -> first byte at the probe", Ms(p.StartCalled, at));
    }
    system.Stop(probe);
    // Let the hello guest finish before the next sample, so samples do not overlap.
    while ((await manager.Ask<VmInfo>(new GetVm(id), timeout)).Status == VmStatus.Running)
        await Task.Delay(5);
}
Console.Error.WriteLine("first byte done");
var fbHits = workers.PoolHits - hitsBefore;
var fbSpawns = workers.PoolSpawns - spawnsBefore;

// 2. and 3. idle guests (the timer guest: a PIT interrupt each millisecond, forever), all requests in flight at once
async Task<(double Seconds, long Hits, long Spawns, List<double> Takes, Dictionary<string, List<double>> Timeline)> Batch(string prefix, int count)
{
    await PoolFull();
    var hits = workers.PoolHits;
    var spawns = workers.PoolSpawns;
    var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    var left = count;
    void OnStarted(string id)
    {
        if (id.StartsWith(prefix, StringComparison.Ordinal) && Interlocked.Decrement(ref left) == 0)
            all.TrySetResult();
    }
    factory.GuestStarted += OnStarted;
    // The .NET thread pool (Akka's default dispatcher) while the batch runs: its most threads and queued items.
    using var sampling = new CancellationTokenSource();
    var poolPeak = Task.Run(async () =>
    {
        var (threads, queued) = (0, 0L);
        while (!sampling.IsCancellationRequested)
        {
            threads = Math.Max(threads, ThreadPool.ThreadCount);
            queued = Math.Max(queued, ThreadPool.PendingWorkItemCount);
            await Task.Delay(5);
        }
        return (threads, queued);
    });
    var clock = Stopwatch.StartNew();
    var began = Stopwatch.GetTimestamp();
    var acks = new (long Created, long Started)[count];
    var clockTask = Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
    {
        await Expect<VmCommandAccepted>(new CreateVm(Spec($"{prefix}{i}", "timer", "4000000000")));
        acks[i].Created = Stopwatch.GetTimestamp();
        await Expect<VmCommandAccepted>(new StartVm($"{prefix}{i}"));
        acks[i].Started = Stopwatch.GetTimestamp();
    }));
    await clockTask;
    try
    {
        await all.Task.WaitAsync(timeout);
    }
    catch (TimeoutException)
    {
        foreach (var (id, p) in factory.Phases.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)))
            Console.Error.WriteLine($"{id}: worker {p.Worker}, started {p.StartReturned != 0}, exit {p.Exit}");
        throw;
    }
    var seconds = clock.Elapsed.TotalSeconds;
    sampling.Cancel();
    var (peakThreads, peakQueued) = await poolPeak;
    Console.WriteLine($"{prefix}: thread pool at most {peakThreads} threads, {peakQueued} items queued ({ThreadPool.ThreadCount} threads after)");
    factory.GuestStarted -= OnStarted;
    var takes = factory.Phases.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(p => p.Value.Worker!.Take.TotalMilliseconds).ToList();
    // Where the batch's time went, per guest: when each step ended, from the batch's start, and how long each took.
    var timeline = new Dictionary<string, List<double>>();
    void At(string phase, double ms)
    {
        if (!timeline.TryGetValue(phase, out var list))
            timeline[phase] = list = [];
        list.Add(ms);
    }
    for (var i = 0; i < count; i++)
    {
        var p = factory.Phases[$"{prefix}{i}"];
        var w = p.Worker!;
        At("at: CreateVm acknowledged", Ms(began, acks[i].Created));
        At("at: StartVm acknowledged", Ms(began, acks[i].Started));
        At("at: factory entered", Ms(began, p.FactoryEntered));
        At("at: Start returned (guest runs)", Ms(began, p.StartReturned));
        At("took: StartVm ack -> factory entered", Ms(acks[i].Started, p.FactoryEntered));
        At("took: worker taken (pool hit or spawn)", w.Take.TotalMilliseconds);
        if (!w.FromPool)
            At("took: worker taken, spawns only", w.Take.TotalMilliseconds);
        At("took: cgroup limits", w.Contain.TotalMilliseconds);
        At("took: Create request", w.CreateRequest.TotalMilliseconds);
        At("took: Start request", Ms(p.StartCalled, p.StartReturned));
    }
    return (seconds, workers.PoolHits - hits, workers.PoolSpawns - spawns, takes, timeline);
}
var burst = await Batch("burst-", pool);
Console.Error.WriteLine("burst done");
var sustained = await Batch("idle-", vms);
Console.Error.WriteLine("sustained done");

// 4. memory of the idle guests' workers
await Task.Delay(2000);
var list = await manager.Ask<VmList>(ListVms.Instance, timeout);
var idleIds = list.Vms.Where(v => v.Status == VmStatus.Running && !v.Spec.Id.StartsWith("fb-", StringComparison.Ordinal)).Select(v => v.Spec.Id).ToList();
var ours = idleIds.Select(id => ProcessMemory.Read(factory.Phases[id].Worker!.Pid, (long)(guestBytes >> 10))).OfType<ProcessMemory>().ToList();
var kernel = Path.Combine(repo, "guests", "build", "blk.elf");
var qemuMib = 16;
var theirs = File.Exists(kernel) ? QemuPeer.Memory(ours.Count, kernel, "info", qemuMib) : null;

var pids = factory.Phases.Values.Select(p => p.Worker?.Pid ?? 0).Where(p => p > 0).ToList();
await system.Terminate();
workers.Dispose();
var cleanup = Stopwatch.StartNew();
foreach (var pid in pids)
{
    var left = TimeSpan.FromSeconds(5) - cleanup.Elapsed;
    if (left <= TimeSpan.Zero || !WorkerProcesses.WaitForExit(pid, left))
        WorkerProcesses.Kill(pid);
}
try
{
    Directory.Delete(data, recursive: true);
}
catch (IOException)
{
}

Console.WriteLine($"create -> first byte of the hello guest, {samples} samples, the pool ({pool}) full before each: {fbHits} pool hits, {fbSpawns} spawns");
foreach (var (phase, values) in phases)
    Console.WriteLine(string.Format(inv, "  {0,-45} p50 {1,7:F1} ms  p99 {2,7:F1} ms", phase, Percentile(values, 0.5), Percentile(values, 0.99)));
Console.WriteLine("  (CreateVm persists VmCreated; StartVm persists the start and starts the VM actor's vCPU supervisor, which takes a worker,");
Console.WriteLine("   sends Create (machine built, guest loaded in the worker) and Start; the first byte comes back over the worker's socket.)");
var burstRate = pool / burst.Seconds;
var rate = vms / sustained.Seconds;
Console.WriteLine(string.Format(inv, "burst: {0} idle VMs at once from a full pool in {1:F2} s = {2:F1} VMs/s ({3} pool hits, {4} spawns, worker taken p50 {5:F1} ms)",
    pool, burst.Seconds, burstRate, burst.Hits, burst.Spawns, Percentile(burst.Takes, 0.5)));
Console.WriteLine(string.Format(inv, "sustained: {0} idle VMs at once in {1:F2} s = {2:F1} VMs/s ({3} pool hits, {4} spawns; worker taken p50 {5:F0} ms, max {6:F0} ms)",
    vms, sustained.Seconds, rate, sustained.Hits, sustained.Spawns, Percentile(sustained.Takes, 0.5), sustained.Takes.Max()));
foreach (var (phase, values) in sustained.Timeline)
    // A sum only for the durations ("took ..."); the "at ..." rows are times since the batch began.
    Console.WriteLine(string.Format(inv, "  sustained {0,-42} p50 {1,7:F1} ms  max {2,7:F1} ms{3}", phase, Percentile(values, 0.5),
        values.Max(), phase.StartsWith("took", StringComparison.Ordinal) ? string.Format(inv, "  sum {0,8:F1} ms", values.Sum()) : ""));
Console.WriteLine($"idle VMs running: {idleIds.Count}/{vms + pool}");

double Overhead(List<ProcessMemory> m) => m.Average(x => x.PssKib - (x.GuestPssKib ?? 0)) / 1024;
void Describe(string who, List<ProcessMemory> m, ulong ram)
{
    Console.WriteLine(string.Format(inv,
        "{0}: {1} processes; PSS mean {2:F1} MiB, RSS mean {3:F1} MiB; guest RAM ({4} MiB mapping) touched, PSS mean {5:F2} MiB ({6} of {1} mappings identified); PSS beyond guest RAM {7:F1} MiB",
        who, m.Count, m.Average(x => x.PssKib) / 1024, m.Average(x => x.RssKib) / 1024, ram >> 20,
        m.Average(x => x.GuestPssKib ?? 0) / 1024, m.Count(x => x.GuestPssKib is not null), Overhead(m)));
}
Describe("ours (worker of an idle timer guest)", ours, guestBytes);
var qemuOverhead = double.NaN;
if (theirs is { Count: > 0 })
{
    Describe("qemu -accel tcg -M q35 -kernel blk.elf -append info (idle after its first line)", theirs, (ulong)qemuMib << 20);
    qemuOverhead = Overhead(theirs);
}
else
    Console.WriteLine("peer: qemu-system-x86_64 or guests/build/blk.elf missing; no QEMU overhead");
Console.WriteLine("  (overhead = PSS of the process minus the PSS of its guest RAM mapping, that is the guest memory it touched; PSS shares the");
Console.WriteLine("   pages common to the processes measured at once among them, and both sides are measured with the same count running)");

var peer = QemuPeer.FirstByteMs(Math.Min(samples, 10));
if (peer is null)
    Console.WriteLine("peer: qemu-system-x86_64 not found; no ratio");
else
    Console.WriteLine(string.Format(inv, "peer qemu_tcg_first_byte_p50_ms={0:F1} (process start, flat BIOS); ratio ours/qemu p50={1:F2} (ours: create command, journal writes, VM and guest boot)",
        Percentile(peer, 0.5), Percentile(phases["first byte (total)"], 0.5) / Percentile(peer, 0.5)));
lock (log)
    foreach (var line in log.Distinct().Take(5))
        Console.WriteLine($"factory: {line}");
Console.WriteLine(string.Format(inv, "first_byte_p50_ms={0:F1} first_byte_p99_ms={1:F1} vms_per_s={2:F1} burst_vms_per_s={3:F1} overhead_mib_per_vm={4:F1} qemu_overhead_mib_per_vm={5:F1}",
    Percentile(phases["first byte (total)"], 0.50), Percentile(phases["first byte (total)"], 0.99), rate, burstRate, Overhead(ours), qemuOverhead));
return idleIds.Count == vms + pool ? 0 : 1;
