// Cluster benchmark: three `cluster-node run` processes on loopback, driven through a ClusterClient.
//   1. create latency: sequential creations, p50/p99 in ms;
//   2. placement rate: concurrent creations (64 in flight), VMs placed per second across the 3 hosts;
//   3. HA recovery: kill -9 of the host with the most running VMs, seconds until all of them run elsewhere, and where
//      those seconds went (HaBreakdown: unreachable, downed, removed, lease waits, placed again, read from the hosts' logs).
// Last line: ha_recovery_s=N placements_per_s=N create_p99_ms=N (targets <= 10, >= 500, <= 50).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Cluster.Tools.Client;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Configuration;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;

var nodeDll = args[0];
var journal = args[1];
var data = args[2];
var sequential = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 200;
var concurrent = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 1000;
var running = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 12;

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
var ports = new[] { FreePort(), FreePort(), FreePort() };
// One folder per run (several benchmarks may run on one machine at once); kept after the run.
var logs = Path.Combine(Path.GetTempPath(), $"cluster-bench-logs-{Environment.ProcessId}");
Directory.CreateDirectory(logs);
var nodes = new List<Process>();
for (var i = 0; i < 3; i++)
{
    var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (var a in (string[])["exec", nodeDll, "run", "--port", $"{ports[i]}", "--data", Path.Combine(data, $"n{i}"), "--ca", ca, "--backend", "emulated",
                 "--seed", $"127.0.0.1:{ports[0]}", "--journal", journal, "--vcpus", "4096", "--memory", "64G"])
        info.ArgumentList.Add(a);
    var p = Process.Start(info)!;
    // Each host's output in LOGS/nI.log (printed on a failure): what the hosts said is what explains a bad figure.
    var log = TextWriter.Synchronized(new StreamWriter(Path.Combine(logs, $"n{i}.log")) { AutoFlush = true });
    p.ErrorDataReceived += (_, e) => { if (e.Data is { } l) log.WriteLine(l); };
    p.BeginErrorReadLine();
    while (p.StandardOutput.ReadLine() is { } line)
    {
        log.WriteLine(line);
        if (line.StartsWith("node ready", StringComparison.Ordinal))
            break;
    }
    var output = p.StandardOutput;
    _ = Task.Run(() =>
    {
        while (output.ReadLine() is { } l)
            log.WriteLine(l);
    });
    nodes.Add(p);
}

var config = ConfigurationFactory.ParseString(
        """
        akka.loglevel = WARNING
        akka.actor.provider = remote
        akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0, batching.enabled = false }
        # Notice a lost contact point (the killed host may be it) as fast as the cluster notices a lost member.
        akka.cluster.client { heartbeat-interval = 500ms, acceptable-heartbeat-pause = 2s }
        """)
    .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", "base.conf"))))
    .WithFallback(ClusterClientReceptionist.DefaultConfig())
    .WithFallback(DistributedPubSub.DefaultConfig());
var system = ActorSystem.Create("bench", tls.Bootstrap(config));
var client = system.ActorOf(ClusterClient.Props(ClusterClientSettings.Create(system).WithInitialContacts(
    [.. ports.Select(p => ActorPath.Parse($"akka.ssl.tcp://hypervisor@127.0.0.1:{p}/system/receptionist"))])));
// Commands go through the nodes' access gate (/user/control) with host 1's bootstrap admin token, as vmctl sends them:
// sent bare to /user/vms they were never answered once the gate was in place (the benchmark only timed out).
var token = File.ReadAllText(Path.Combine(data, "n0", "admin.token")).Trim();
Task<object> Ask(object message, double seconds = 30) =>
    client.Ask<object>(new ClusterClient.Send("/user/control", Cluster.Serialization.BearerCommands.Wrap(token, message), localAffinity: true),
        TimeSpan.FromSeconds(seconds));
VmSpec Spec(string id) => new(id, id, 1, 4 << 20, new BuiltInImage("counter"), [], new Dictionary<string, string>(), null, RestartPolicy.Never);

try
{
    // Wait for the three hosts to be advertised.
    var phase = Stopwatch.StartNew();
    while ((await Ask(Cluster.Contracts.Hosts.ListHosts.Instance)) is not Cluster.Contracts.Hosts.HostList { Hosts.Count: 3 })
        await Task.Delay(500);
    Console.WriteLine($"3 hosts listed after {phase.Elapsed.TotalSeconds:0.0} s");

    phase.Restart();
    for (var i = 0; i < 20; i++)
        await Ask(new CreateVm(Spec($"warm-{i}")));
    Console.WriteLine($"warm-up: 20 creates in {phase.Elapsed.TotalSeconds:0.0} s");
    var latencies = new List<double>();
    for (var i = 0; i < sequential; i++)
    {
        var t = Stopwatch.GetTimestamp();
        var reply = await Ask(new CreateVm(Spec($"seq-{i}")));
        latencies.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        if (reply is not VmCreated)
            throw new InvalidOperationException($"create failed: {reply}");
    }
    latencies.Sort();
    double Pct(double q) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
    Console.WriteLine($"create latency: p50 {Pct(0.5):0.0} ms, p99 {Pct(0.99):0.0} ms over {sequential}");

    var inFlight = new SemaphoreSlim(64);
    var started = Stopwatch.GetTimestamp();
    var failures = 0;
    var tasks = Enumerable.Range(0, concurrent).Select(async i =>
    {
        await inFlight.WaitAsync();
        try
        {
            if (await Ask(new CreateVm(Spec($"par-{i}"))) is not VmCreated)
                Interlocked.Increment(ref failures);
        }
        finally
        {
            inFlight.Release();
        }
    }).ToList();
    await Task.WhenAll(tasks);
    var rate = concurrent / Stopwatch.GetElapsedTime(started).TotalSeconds;
    Console.WriteLine($"placements: {concurrent} in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s = {rate:0} /s ({failures} failed)");

    var hostOf = new Dictionary<string, string>();
    for (var i = 0; i < running; i++)
    {
        var created = (VmCreated)await Ask(new CreateVm(Spec($"ha-{i}")));
        await Ask(new StartVm($"ha-{i}"));
        hostOf[$"ha-{i}"] = created.Host;
    }
    var victimHost = hostOf.Values.Where(h => h != $"127.0.0.1:{ports[0]}").GroupBy(h => h).OrderByDescending(g => g.Count()).First().Key;
    var victim = Array.IndexOf(ports, int.Parse(victimHost.Split(':')[1], CultureInfo.InvariantCulture));
    var lost = hostOf.Where(kv => kv.Value == victimHost).Select(kv => kv.Key).ToList();
    var killed = Stopwatch.GetTimestamp();
    var killedAt = DateTime.UtcNow;
    nodes[victim].Kill(entireProcessTree: true);
    // Short asks: a query sent to the dead host before the cluster notices is lost, not late.
    while (true)
    {
        var infos = await Task.WhenAll(lost.Select(id => Ask(new GetVm(id), 1).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null)));
        if (infos.All(i => i is VmInfo { Status: VmStatus.Running } info && info.Node != victimHost))
            break;
        await Task.Delay(100);
    }
    var recovery = Stopwatch.GetElapsedTime(killed).TotalSeconds;
    Console.WriteLine($"HA: {lost.Count} VMs of {victimHost} running elsewhere {recovery:0.0} s after kill -9");
    Console.WriteLine(HaBreakdown.From(killedAt, recovery, [.. Enumerable.Range(0, 3).Where(i => i != victim).Select(i => Path.Combine(logs, $"n{i}.log"))]));
    Console.WriteLine(HaBreakdown.Gaps(killedAt, [.. Enumerable.Range(0, 3).Select(i => Path.Combine(logs, $"n{i}.log"))]));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ha_recovery_s={recovery:0.0} placements_per_s={rate:0} create_p99_ms={Pct(0.99):0.0}"));
}
catch (Exception e) when (e is InvalidOperationException or AskTimeoutException or InvalidCastException)
{
    Console.Error.WriteLine($"bench failed: {e.Message} (the hosts' output: {logs}/n0.log .. n2.log)");
    Environment.ExitCode = 1;
}
finally
{
    await system.Terminate();
    foreach (var n in nodes)
        if (!n.HasExited)
            n.Kill(entireProcessTree: true);
}
