using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Configuration;
using Cluster.Actors.Hosting;
using Cluster.Actors.Runtime;
using Cluster.Actors.Vms;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Validation;
using Cluster.Contracts.Vms;
using Cluster.Vmm.Hypervisor;
using LifecycleBench;

// Lifecycle benchmark of one node, in process, with the SQLite journal on:
//   1. create -> first serial byte of the hello guest, sequential samples, each after the previous
//      guest has exited (p50, p99);
//   2. VMs created and started per second, all requests in flight at once (idle timer guests);
//   3. RSS growth per idle VM over those VMs (includes the few guest pages each one touches);
//   and the peer: QEMU (TCG) process start to first serial byte, as a ratio.
var samples = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 40;
var vms = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200;
var data = Path.Combine(Path.GetTempPath(), "lifecycle-bench", Guid.NewGuid().ToString("N"));
var timeout = TimeSpan.FromSeconds(60);

using var hypervisor = HypervisorFactory.Create(BackendKind.Auto, out var reason);
Console.WriteLine($"backend: {reason}");
var config = HypervisorConfig.Load(HypervisorConfig.DefaultHoconDirectory, data, ConfigurationFactory.ParseString(
    "akka.loglevel = WARNING\nakka.actor.provider = local"));
var system = ActorSystem.Create("bench", config);
var factory = new MachineGuestRuntimeFactory(hypervisor);
var limits = new VmSpecLimits(factory.MaxVcpus, MachineGuestRuntimeFactory.MinMemoryBytes, 1UL << 30, factory.BuiltInImages);
var manager = system.ActorOf(VmManager.Props(factory, new VmSpecValidator(limits), VmActorSettings.From(config, "bench")), VmManager.Name);

VmSpec Spec(string id, string image, params string[] guestArgs) =>
    new(id, id, 1, MachineGuestRuntimeFactory.MinMemoryBytes, new BuiltInImage(image), guestArgs,
        new Dictionary<string, string>(), null, RestartPolicy.Never);

async Task Expect<T>(object message)
{
    var reply = await manager.Ask<object>(message, timeout);
    if (reply is not T)
        throw new InvalidOperationException($"{message} -> {reply}");
}

// 1. create -> first byte
var firstByte = new List<double>();
var created = new List<double>();
var started = new List<double>();
for (var i = 0; i < samples + 3; i++)
{
    var id = $"fb-{i}";
    var done = new TaskCompletionSource<DateTime>(TaskCreationOptions.RunContinuationsAsynchronously);
    var probe = system.ActorOf(Props.Create(() => new FirstByteProbe(done)));
    var start = DateTime.UtcNow;
    await Expect<VmCommandAccepted>(new CreateVm(Spec(id, "hello")));
    var createdAt = DateTime.UtcNow;
    manager.Tell(new ConsoleAttach(id), probe);
    await Expect<VmCommandAccepted>(new StartVm(id));
    var startedAt = DateTime.UtcNow;
    var at = await done.Task.WaitAsync(timeout);
    if (i >= 3)
    {
        firstByte.Add((at - start).TotalMilliseconds);
        created.Add((createdAt - start).TotalMilliseconds);
        started.Add((startedAt - createdAt).TotalMilliseconds);
    }
    system.Stop(probe);
    // Let the hello guest finish before the next sample, so samples do not overlap.
    while ((await manager.Ask<VmInfo>(new GetVm(id), timeout)).Status == VmStatus.Running)
        await Task.Delay(5);
}
firstByte.Sort();
created.Sort();
started.Sort();
static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

// 2. and 3. create and start idle VMs
GC.Collect();
GC.WaitForPendingFinalizers();
await Task.Delay(500);
var rssBefore = Process.GetCurrentProcess().WorkingSet64;
var clock = Stopwatch.StartNew();
await Task.WhenAll(Enumerable.Range(0, vms).Select(async i =>
{
    await Expect<VmCommandAccepted>(new CreateVm(Spec($"idle-{i}", "timer", "4000000000")));
    await Expect<VmCommandAccepted>(new StartVm($"idle-{i}"));
}));
var elapsed = clock.Elapsed.TotalSeconds;
await Task.Delay(2000);
GC.Collect();
GC.WaitForPendingFinalizers();
var list = await manager.Ask<VmList>(ListVms.Instance, timeout);
var running = list.Vms.Count(v => v.Spec.Id.StartsWith("idle-", StringComparison.Ordinal) && v.Status == VmStatus.Running);
var rssAfter = Process.GetCurrentProcess().WorkingSet64;
Console.WriteLine($"idle VMs running: {running}/{vms}; RSS {rssBefore >> 20} MiB -> {rssAfter >> 20} MiB");

await system.Terminate();
Directory.Delete(data, recursive: true);

var inv = CultureInfo.InvariantCulture;
Console.WriteLine(string.Format(inv, "breakdown p50: create acknowledged {0:F1} ms, start acknowledged {1:F1} ms later, first byte {2:F1} ms after that",
    Percentile(created, 0.5), Percentile(started, 0.5), Percentile(firstByte, 0.5) - Percentile(created, 0.5) - Percentile(started, 0.5)));
var peer = QemuPeer.FirstByteMs(Math.Min(samples, 10));
if (peer is null)
    Console.WriteLine("peer: qemu-system-x86_64 not found; no ratio");
else
{
    peer.Sort();
    Console.WriteLine(string.Format(inv, "peer qemu_tcg_first_byte_p50_ms={0:F1} (process start, flat BIOS); ratio ours/qemu p50={1:F2} (ours: create command, journal writes, VM and guest boot)",
        Percentile(peer, 0.5), Percentile(firstByte, 0.5) / Percentile(peer, 0.5)));
}
Console.WriteLine(string.Format(inv, "first_byte_p50_ms={0:F1} first_byte_p99_ms={1:F1} vms_per_s={2:F1} overhead_mib_per_vm={3:F2}",
    Percentile(firstByte, 0.50), Percentile(firstByte, 0.99), vms / elapsed, (rssAfter - rssBefore) / (double)vms / (1 << 20)));
return running == vms ? 0 : 1;
