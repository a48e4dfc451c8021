// Rebalance benchmark: `cluster-node run` processes on loopback with the shipped rebalancer settings, driven
// through a ClusterClient. Two hosts carry N busy VMs (the paced dirtier: a vCPU kept busy, little memory
// written); then a third host joins (and a fourth, when asked). For each join: seconds from the join until the
// rebalancer reports the imbalance within its threshold with no move in flight, the moves it made against the
// least moves that reach a balanced distribution, and the guest downtime summed over those moves.
// Last line: balance_s=N moves_ratio=R total_downtime_ms=N (targets: balance_s <= 30, moves_ratio <= 1.2).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Cluster.Tools.Client;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Configuration;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using RebalanceBench;

var nodeDll = args[0];
var journal = args[1];
var data = args[2];
var vmCount = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 6;
var finalHosts = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 3;
var balanceLimit = TimeSpan.FromSeconds(180);
// Moves started this long after the cluster first looked balanced still count (an overshoot would show here).
var afterBalance = TimeSpan.FromSeconds(10);

int FreePort()
{
    using var l = new TcpListener(IPAddress.Loopback, 0);
    l.Start();
    return ((IPEndPoint)l.LocalEndpoint).Port;
}


// Akka.Remote runs over mutual TLS: one CA for the benchmark's nodes, and a client certificate for this process.
var ca = Path.Combine(data, "ca");
foreach (var command in new[] { new[] { "ca", "init", "--dir", ca }, ["ca", "issue", "vmctl", "--ca", ca] })
{
    using var issuing = Process.Start("dotnet", ["exec", nodeDll, .. command]);
    issuing.WaitForExit();
    if (issuing.ExitCode != 0)
        throw new InvalidOperationException($"cluster-node {string.Join(' ', command)} failed");
}
var tls = Cluster.Serialization.Tls.RemoteTls.Load(ca, Path.Combine(ca, "vmctl.crt"));
var ports = Enumerable.Range(0, finalHosts).Select(_ => FreePort()).ToArray();
string Host(int i) => $"127.0.0.1:{ports[i]}";
var nodes = new List<Process>();

// The hosts share this machine's cores: loads from the vCPUs' time in the guest, not their workers' cgroups (hocon/cluster.conf).
var benchConf = Path.Combine(data, "bench.conf");
File.WriteAllText(benchConf, "cluster-hypervisor.host.cpu-load = vcpu\n");

async Task StartNode(int i)
{
    var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (var a in (string[])["exec", nodeDll, "run", "--port", $"{ports[i]}", "--data", Path.Combine(data, $"n{i}"), "--ca", ca, "--backend", "emulated",
                 "--seed", Host(0), "--journal", journal, "--vcpus", "2", "--memory", "256M", "--config", benchConf])
        info.ArgumentList.Add(a);
    // Each node's output goes to DATA/nodeN.log (the run script removes DATA unless BENCH_KEEP is set).
    var log = TextWriter.Synchronized(new StreamWriter(Path.Combine(data, $"node{i}.log")) { AutoFlush = true });
    var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    var p = Process.Start(info)!;
    nodes.Add(p);
    p.ErrorDataReceived += (_, e) => log.WriteLine(e.Data);
    p.OutputDataReceived += (_, e) =>
    {
        log.WriteLine(e.Data);
        if (e.Data?.StartsWith("node ready", StringComparison.Ordinal) == true)
            ready.TrySetResult();
    };
    p.BeginErrorReadLine();
    p.BeginOutputReadLine();
    await ready.Task.WaitAsync(TimeSpan.FromSeconds(120));
}

var config = ConfigurationFactory.ParseString(
        """
        akka.loglevel = WARNING
        akka.actor.provider = remote
        akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0, batching.enabled = false }
        """)
    .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", "base.conf"))))
    .WithFallback(ClusterClientReceptionist.DefaultConfig())
    .WithFallback(DistributedPubSub.DefaultConfig());
ActorSystem? system = null;

try
{
    await StartNode(0);
    await StartNode(1);
    system = ActorSystem.Create("bench", tls.Bootstrap(config));
    var client = system.ActorOf(ClusterClient.Props(ClusterClientSettings.Create(system).WithInitialContacts(
        [.. ports.Take(2).Select(p => ActorPath.Parse($"akka.ssl.tcp://hypervisor@127.0.0.1:{p}/system/receptionist"))])));
    Task<object> Ask(object message) =>
        client.Ask<object>(new ClusterClient.Send("/user/vms", message, localAffinity: true), TimeSpan.FromSeconds(30));
    async Task<T> AskFor<T>(object message) =>
        await Ask(message) is T reply ? reply : throw new InvalidOperationException($"unexpected reply to {message.GetType().Name}");
    async Task WaitFor(Func<Task<bool>> condition, string what, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            if (watch.Elapsed > limit)
                throw new InvalidOperationException($"timed out after {limit.TotalSeconds:0} s waiting for {what}");
            await Task.Delay(250);
        }
    }

    await WaitFor(async () => (await AskFor<HostList>(ListHosts.Instance)).Hosts.Count == 2, "two hosts", TimeSpan.FromSeconds(60));
    // Nothing moves while the VMs are created (a half-created cluster is uneven); automatic once they all run.
    await AskFor<RebalanceStatus>(new SetRebalanceMode(RebalanceMode.Off));
    for (var i = 0; i < vmCount; i++)
    {
        var spec = new VmSpec($"busy-{i}", $"busy-{i}", 1, 4 << 20, new BuiltInImage("dirtier"), ["1", "2"],
            new Dictionary<string, string>(), null, RestartPolicy.Never);
        if (await Ask(new CreateVm(spec)) is not VmCreated)
            throw new InvalidOperationException($"busy-{i} was not created");
        if (await Ask(new StartVm(spec.Id)) is not VmCommandAccepted)
            throw new InvalidOperationException($"busy-{i} did not start");
    }
    await WaitFor(async () => await AskFor<RebalanceStatus>(GetRebalanceStatus.Instance) is { Hosts.Count: 2 } s && s.Hosts.All(h => h.Load > 0),
        "both hosts reporting load", TimeSpan.FromSeconds(60));
    await AskFor<RebalanceStatus>(new SetRebalanceMode(RebalanceMode.Automatic));
    var settings = await AskFor<RebalanceStatus>(GetRebalanceStatus.Instance);
    Console.WriteLine($"{vmCount} busy VMs on 2 hosts (2 vCPUs each); rebalancer automatic, threshold {settings.Threshold:0.00} (shipped settings)");

    var balanceSeconds = new List<double>();
    var (movesMade, movesNeeded, downtimeMs) = (0, 0, 0.0);
    for (var joining = 2; joining < finalHosts; joining++)
    {
        var before = await AskFor<RebalanceStatus>(GetRebalanceStatus.Instance);
        var vms = (await AskFor<VmList>(ListVms.Instance)).Vms;
        var counts = Enumerable.Range(0, joining + 1).Select(h => vms.Count(v => v.Node == Host(h))).ToList();
        // The load of one VM (in host-load units), as the median of a few of the rebalancer's evaluations: one alone
        // may catch a host between two reports, and a low figure would make a one-VM difference look balanced.
        var perVm = new List<double>();
        for (var sample = 0; sample < 5; sample++)
        {
            perVm.Add((await AskFor<RebalanceStatus>(GetRebalanceStatus.Instance)).Hosts.Sum(h => h.Load) / vmCount);
            await Task.Delay(1000);
        }
        var loadPerVm = perVm.Order().ElementAt(perVm.Count / 2);
        var needed = MinimalMoves.Count(counts, loadPerVm, before.Threshold);

        await StartNode(joining);
        var host = Host(joining);
        await WaitFor(async () => (await AskFor<HostList>(ListHosts.Instance)).Hosts.Any(h => h.Host == host), $"{host} to join", TimeSpan.FromSeconds(60));
        var joinedAt = DateTime.UtcNow;
        var watch = Stopwatch.StartNew();
        await WaitFor(async () => await AskFor<RebalanceStatus>(GetRebalanceStatus.Instance) is var s
                && s.Hosts.Count == joining + 1 && s.InFlight.Count == 0 && s.Imbalance <= s.Threshold,
            $"balance after {host} joined", balanceLimit);
        var seconds = watch.Elapsed.TotalSeconds;
        await Task.Delay(afterBalance);
        await WaitFor(async () => (await AskFor<RebalanceStatus>(GetRebalanceStatus.Instance)).InFlight.Count == 0, "moves in flight to end",
            balanceLimit);

        var migrations = (await AskFor<MigrationList>(ListMigrations.Instance)).Migrations.Where(m => m.StartedAt >= joinedAt).ToList();
        var completed = migrations.Where(m => m.State == MigrationState.Completed).ToList();
        var downtime = completed.Sum(m => m.DowntimeMs ?? 0);
        // A VM whose entity is being handed over to its new host is listed by no host for a moment.
        await WaitFor(async () => (await AskFor<VmList>(ListVms.Instance)).Vms.Count == vmCount, "every VM listed", TimeSpan.FromSeconds(60));
        var after = (await AskFor<VmList>(ListVms.Instance)).Vms;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"join of host {joining + 1}: VMs per host {string.Join("/", counts)} (load {loadPerVm:0.00} each) -> "
            + $"{string.Join("/", Enumerable.Range(0, joining + 1).Select(h => after.Count(v => v.Node == Host(h))))}; balanced after {seconds:0.0} s; "
            + $"{completed.Count} moves ({migrations.Count - completed.Count} failed), least needed {needed}; "
            + $"downtime {downtime:0} ms in all ({string.Join(", ", completed.Select(m => $"{m.DowntimeMs:0}"))} ms)"));
        balanceSeconds.Add(seconds);
        movesMade += completed.Count;
        movesNeeded += needed;
        downtimeMs += downtime;
    }

    Console.WriteLine("anchors: Proxmox VE dynamic load balancer rounds of about 10 s; vSphere DRS every 5 minutes; "
        + "OpenStack Watcher moves one VM per audit");
    var ratio = movesNeeded > 0 ? (double)movesMade / movesNeeded : movesMade == 0 ? 1 : double.PositiveInfinity;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"balance_s={balanceSeconds.Max():0.0} moves_ratio={ratio:0.00} total_downtime_ms={downtimeMs:0}"));
}
catch (Exception e) when (e is InvalidOperationException or AskTimeoutException or TimeoutException)
{
    Console.Error.WriteLine($"bench failed: {e.Message}");
    Environment.ExitCode = 1;
}
finally
{
    if (system is not null)
        await system.Terminate();
    foreach (var n in nodes)
        if (!n.HasExited)
            n.Kill(entireProcessTree: true);
}
